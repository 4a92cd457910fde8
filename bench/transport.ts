/**
 * How requests and outputs should cross threads. Round-trip latency (p50/p99, µs) and bulk
 * records per second of the SharedArrayBuffer rings, beside worker.postMessage and piscina.run()
 * carrying the same payload (an encoded add-request); then the idle CPU of an idle engine pool
 * and its wake-up latency (submit → the worker's QUEUED stamp). One JSON line.
 *
 *   npm run bench:transport -- [--round-trips 20000] [--bulk 1000000] [--model dummy]
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { resolveSamplingParams } from '../lib/engine/sampling-params.js';
import { createPoolEngine } from '../lib/pool/pool-engine.js';
import { ByteWriter } from '../lib/transport/byte-codec.js';
import { waitForChange } from '../lib/transport/channels.js';
import { encodeAddRequest } from '../lib/transport/records.js';
import { createRingBuffer, HEAD, RingReader, RingWriter, TAIL } from '../lib/transport/ring.js';
import { machine, round } from './bench-util.js';

const { values } = parseArgs({
  options: {
    'round-trips': { type: 'string', default: '20000' },
    bulk: { type: 'string', default: '1000000' },
    model: { type: 'string', default: 'dummy' },
  },
});
const roundTrips = Number(values['round-trips']);
const bulk = Number(values.bulk);
const STOP = 99;
const workerUrl = new URL('./transport-worker.js', import.meta.url);

const payload = encodeAddRequest(new ByteWriter(), {
  key: 1,
  request: {
    requestId: 'chatcmpl-0123456789abcdef',
    promptTokenIds: Array.from({ length: 32 }, (_, i) => 65 + i),
    params: resolveSamplingParams({ temperature: 0.7, maxTokens: 128, seed: 1 }),
    trace: { carrier: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: '' }, choiceIndex: 0 },
  },
}).slice();

function percentiles(samplesNs: bigint[]): { p50: number; p99: number } {
  const us = samplesNs.map((ns) => Number(ns) / 1000).sort((x, y) => x - y);
  return { p50: round(us[Math.floor(us.length * 0.5)]), p99: round(us[Math.floor(us.length * 0.99)]) };
}

async function ring(): Promise<{ p50: number; p99: number; recordsPerSecond: number }> {
  const a = createRingBuffer(1 << 20);
  const b = createRingBuffer(1 << 20);
  const echo = new Worker(workerUrl, { workerData: { mode: 'ring-echo', a, b } });
  const writer = new RingWriter(a);
  const reader = new RingReader(b);
  const samples: bigint[] = [];
  for (let i = 0; i < roundTrips + 1000; i++) {
    const seen = Atomics.load(reader.header, HEAD);
    const start = process.hrtime.bigint();
    writer.tryWrite(1, payload);
    writer.publish();
    await waitForChange(reader.header, HEAD, seen);
    reader.drain(() => {});
    if (i >= 1000) samples.push(process.hrtime.bigint() - start);
  }
  writer.tryWrite(STOP, payload);
  writer.publish();
  await once(echo, 'exit');

  const c = createRingBuffer(1 << 20);
  const sink = new Worker(workerUrl, { workerData: { mode: 'ring-sink', a: c, b: createRingBuffer(1024), count: bulk } });
  const bulkWriter = new RingWriter(c);
  const done = once(sink, 'message');
  const start = performance.now();
  for (let i = 0; i < bulk; i++) {
    while (!bulkWriter.tryWrite(1, payload)) {
      const seenTail = Atomics.load(bulkWriter.header, TAIL);
      bulkWriter.publish();
      await waitForChange(bulkWriter.header, TAIL, seenTail);
    }
    if ((i & 63) === 63) bulkWriter.publish();
  }
  bulkWriter.publish();
  await done;
  const seconds = (performance.now() - start) / 1000;
  bulkWriter.tryWrite(STOP, payload);
  bulkWriter.publish();
  await once(sink, 'exit');
  return { ...percentiles(samples), recordsPerSecond: Math.round(bulk / seconds) };
}

async function postMessage(): Promise<{ p50: number; p99: number; recordsPerSecond: number }> {
  const echo = new Worker(workerUrl, { workerData: { mode: 'post-echo' } });
  const samples: bigint[] = [];
  for (let i = 0; i < roundTrips + 1000; i++) {
    const start = process.hrtime.bigint();
    echo.postMessage(payload);
    await once(echo, 'message');
    if (i >= 1000) samples.push(process.hrtime.bigint() - start);
  }
  echo.postMessage('stop');
  await echo.terminate();
  const sink = new Worker(workerUrl, { workerData: { mode: 'post-sink', count: bulk } });
  const done = once(sink, 'message');
  const start = performance.now();
  for (let i = 0; i < bulk; i++) sink.postMessage(payload);
  await done;
  const seconds = (performance.now() - start) / 1000;
  await sink.terminate();
  return { ...percentiles(samples), recordsPerSecond: Math.round(bulk / seconds) };
}

async function piscinaRun(): Promise<{ p50: number; p99: number; recordsPerSecond: number }> {
  const pool = new Piscina({ filename: new URL('./transport-task.js', import.meta.url).href, minThreads: 1, maxThreads: 1 });
  const samples: bigint[] = [];
  for (let i = 0; i < roundTrips + 1000; i++) {
    const start = process.hrtime.bigint();
    await pool.run(payload);
    if (i >= 1000) samples.push(process.hrtime.bigint() - start);
  }
  // piscina runs tasks one at a time per worker; keep a window of 256 queued, refilled on completion
  const tasks = Math.min(bulk, 200_000);
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    let done = 0;
    const launch = (): void => {
      sent++;
      pool.run(payload).then(() => {
        if (++done === tasks) resolve();
        else if (sent < tasks) launch();
      }, reject);
    };
    for (let i = 0; i < 256 && sent < tasks; i++) launch();
  });
  const seconds = (performance.now() - start) / 1000;
  await pool.destroy();
  return { ...percentiles(samples), recordsPerSecond: Math.round(tasks / seconds) };
}

async function idlePool(): Promise<{ workers: number; idleCpuPercent: number; wakeupUs: { p50: number; p99: number } }> {
  const client = await createPoolEngine({ model: values.model });
  const wakeups: bigint[] = [];
  for (let i = 0; i < 30; i++) {
    // the worker is idle between requests, so each submit has to wake it
    const submitted = process.hrtime.bigint();
    for await (const delta of client.generate([256, 65], { maxTokens: 1 })) if (delta.stamps) wakeups.push(delta.stamps.queuedNs - submitted);
  }
  const cpu = process.cpuUsage();
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const used = process.cpuUsage(cpu);
  const idleCpuPercent = round((100 * (used.user + used.system)) / 1000 / (performance.now() - start), 3);
  await client.close();
  return { workers: client.numReplicas, idleCpuPercent, wakeupUs: percentiles(wakeups) };
}

const result = {
  bench: 'transport',
  payloadBytes: payload.length,
  roundTrips,
  bulk,
  ring: await ring(),
  postMessage: await postMessage(),
  piscinaRun: await piscinaRun(),
  idlePool: await idlePool(),
  ...machine(),
};
console.log(JSON.stringify(result));
