/**
 * Worker-thread side of the ring stress test: writes `count` records of seeded lengths and
 * contents, waiting on TAIL whenever the ring is full, then posts its own checksum.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { waitForChange } from '../../lib/transport/channels.js';
import { RingWriter, TAIL } from '../../lib/transport/ring.js';
import { stressRecord } from './stress-records.js';

const { sab, count, seed } = workerData as { sab: SharedArrayBuffer; count: number; seed: number };
const ring = new RingWriter(sab);
let checksum = 0;
for (let i = 0; i < count; i++) {
  const record = stressRecord(seed, i);
  checksum = (checksum + record.checksum) >>> 0;
  while (!ring.tryWrite(record.type, record.payload)) {
    const seenTail = Atomics.load(ring.header, TAIL);
    ring.publish();
    await waitForChange(ring.header, TAIL, seenTail, true);
  }
  if (i % 64 === 63) ring.publish(); // publish in batches, as the engine does per step
}
ring.publish();
parentPort?.postMessage({ checksum });
