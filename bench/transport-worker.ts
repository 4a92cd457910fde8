/** The far side of bench/transport.ts: echoes or counts what arrives, by ring or by message. */
import { parentPort, workerData } from 'node:worker_threads';
import { waitForChange } from '../lib/transport/channels.js';
import { HEAD, RingReader, RingWriter } from '../lib/transport/ring.js';

const STOP = 99;
const { mode, a, b, count } = workerData as { mode: string; a?: SharedArrayBuffer; b?: SharedArrayBuffer; count?: number };

if (mode === 'ring-echo' || mode === 'ring-sink') {
  const reader = new RingReader(a as SharedArrayBuffer);
  const writer = new RingWriter(b as SharedArrayBuffer);
  let received = 0;
  let stop = false;
  while (!stop) {
    const seen = Atomics.load(reader.header, HEAD);
    reader.drain((type, payload) => {
      if (type === STOP) stop = true;
      else if (mode === 'ring-echo') writer.tryWrite(type, payload);
      else received++;
    });
    writer.publish();
    if (mode === 'ring-sink' && received === count) {
      parentPort?.postMessage(received);
      received = 0;
    }
    if (!stop) await waitForChange(reader.header, HEAD, seen, true);
  }
} else if (mode === 'post-echo') {
  parentPort?.on('message', (m: unknown) => (m === 'stop' ? parentPort?.close() : parentPort?.postMessage(m)));
} else if (mode === 'post-sink') {
  let received = 0;
  parentPort?.on('message', (m: unknown) => {
    if (m === 'stop') return parentPort?.close();
    if (++received === count) {
      parentPort?.postMessage(received);
      received = 0;
    }
  });
}
