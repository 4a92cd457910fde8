import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { waitForChange } from '../../lib/transport/channels.js';
import { createRingBuffer, HEAD, maxPayloadBytes, RingReader, RingWriter, SLOT_BYTES, TAIL } from '../../lib/transport/ring.js';
import { checksumOf } from '../helpers/stress-records.js';

const bytes = (n: number, seed = n) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

function drainAll(reader: RingReader): [number, number[]][] {
  const out: [number, number[]][] = [];
  reader.drain((type, payload) => out.push([type, [...payload]]));
  return out;
}

describe('ring', () => {
  it('keeps written records invisible until publish', () => {
    const sab = createRingBuffer(1024);
    const writer = new RingWriter(sab);
    const reader = new RingReader(sab);
    assert.ok(writer.tryWrite(3, bytes(5)));
    assert.deepEqual(drainAll(reader), []);
    writer.publish();
    assert.deepEqual(drainAll(reader), [[3, [...bytes(5)]]]);
    assert.deepEqual(drainAll(reader), []);
  });

  it('carries records larger than a slot, and refuses one larger than the ring', () => {
    const sab = createRingBuffer(16 * SLOT_BYTES);
    const writer = new RingWriter(sab);
    const reader = new RingReader(sab);
    const big = bytes(5 * SLOT_BYTES + 3);
    assert.ok(writer.tryWrite(9, big));
    assert.equal(writer.freeSlots, 16 - 6);
    writer.publish();
    assert.deepEqual(drainAll(reader), [[9, [...big]]]);
    assert.equal(maxPayloadBytes(sab), 16 * SLOT_BYTES - 8);
    assert.ok(writer.tryWrite(1, bytes(maxPayloadBytes(sab))));
    writer.publish();
    assert.equal(drainAll(reader)[0][1].length, maxPayloadBytes(sab));
    assert.throws(() => writer.tryWrite(1, bytes(maxPayloadBytes(sab) + 1)), /exceeds the ring/);
  });

  it('refuses a record when full, writing nothing, and takes it once the consumer makes room', () => {
    const sab = createRingBuffer(16 * SLOT_BYTES);
    const writer = new RingWriter(sab);
    const reader = new RingReader(sab);
    for (let i = 0; i < 8; i++) assert.ok(writer.tryWrite(i, bytes(SLOT_BYTES))); // 2 slots each
    assert.equal(writer.freeSlots, 0);
    assert.equal(writer.tryWrite(99, bytes(1)), false);
    writer.publish();
    assert.equal(drainAll(reader).length, 8);
    assert.ok(writer.tryWrite(99, bytes(1)));
  });

  it('wraps records around the end of the ring, split anywhere, over many laps', () => {
    const sab = createRingBuffer(16 * SLOT_BYTES);
    const writer = new RingWriter(sab);
    const reader = new RingReader(sab);
    for (let lap = 0; lap < 200; lap++) {
      const sent = [1, 70, 130, 7, 300].map((n, i) => bytes(n + (lap % 40), lap + i)); // at most 16 slots
      for (const [i, payload] of sent.entries()) assert.ok(writer.tryWrite(i, payload), `lap ${lap} record ${i}`);
      writer.publish();
      assert.deepEqual(
        drainAll(reader),
        sent.map((p, i) => [i, [...p]]),
      );
    }
  });

  it('maps its counters to slots correctly across the 2^32 wrap', () => {
    const sab = createRingBuffer(16 * SLOT_BYTES);
    const header = new Int32Array(sab, 0, 2);
    header[HEAD] = -3; // 2^32 − 3 slots already went through
    header[TAIL] = -3;
    const writer = new RingWriter(sab);
    const reader = new RingReader(sab);
    for (let i = 0; i < 10; i++) {
      assert.ok(writer.tryWrite(i, bytes(100, i)));
      writer.publish();
      assert.deepEqual(drainAll(reader), [[i, [...bytes(100, i)]]]);
    }
    assert.ok(Atomics.load(header, HEAD) > 0, 'the head counter wrapped');
  });

  it('carries a million records between two threads intact (checksum)', async () => {
    const sab = createRingBuffer(64 * 1024);
    const reader = new RingReader(sab);
    const count = 1_000_000;
    const producer = new Worker(new URL('../helpers/ring-producer.js', import.meta.url), { workerData: { sab, count, seed: 11 } });
    const reported = new Promise<{ checksum: number }>((resolve, reject) => {
      producer.once('message', resolve);
      producer.once('error', reject);
    });
    let received = 0;
    let checksum = 0;
    while (received < count) {
      const seenHead = Atomics.load(reader.header, HEAD);
      received += reader.drain((type, payload) => {
        checksum = (checksum + checksumOf(type, payload)) >>> 0;
      });
      if (received < count) await waitForChange(reader.header, HEAD, seenHead);
    }
    assert.equal(checksum, (await reported).checksum);
    await producer.terminate();
  });
});
