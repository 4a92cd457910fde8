/**
 * CPU cost of journeys per request, on the API thread and in an engine worker: tracing off, on at
 * sample rate 0.1 and 1.0, the journey store alone and with tracing at 1.0, and step spans at
 * 0.01 and 1.0, exporting to a live OTLP receiver running in another process. Each variant runs
 * the code the server runs for one request (the observers' lifecycle calls for a 64-token
 * response; the worker's lifecycle events; for step spans, the 64 steps such a response takes in
 * a batch of 8) `--requests` times, including the export of what it records (flushed inside the
 * measurement), in interleaved rounds; the median round is reported, in microseconds of process
 * CPU per request. Also the journey store's heap per journey. One JSON line (about 10 s).
 *
 *   npm run bench:tracing -- [--requests 5000] [--rounds 5]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import type { RequestObserver } from '../lib/observe/request-observer.js';
import { lifecycleEvent, type LifecycleEvent } from '../lib/engine/lifecycle.js';
import { resolveSamplingParams } from '../lib/engine/sampling-params.js';
import { Sequence } from '../lib/engine/sequence.js';
import { emptyStepProfile } from '../lib/engine/step-profile.js';
import { JourneyStore } from '../lib/observe/journey/journey-store.js';
import { combineObservers } from '../lib/observe/request-observer.js';
import { ApiTracing } from '../lib/observe/tracing/api-tracing.js';
import { CoreTracing } from '../lib/observe/tracing/core-tracing.js';
import { resolveTracingConfig } from '../lib/observe/tracing/tracing-config.js';
import { createLogger } from '../lib/util/logger.js';
import { machine, round } from './bench-util.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '5' } } });
const requests = Number(values.requests);
const rounds = Number(values.rounds);

const receiver = spawn(process.execPath, [new URL('./receiver-process.js', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines: string[] = [];
let pending = '';
receiver.stdout.on('data', (c: Buffer) => {
  pending += c;
  const parts = pending.split('\n');
  pending = parts.pop() ?? '';
  lines.push(...parts);
});
while (lines.length === 0) await once(receiver.stdout, 'data');
const endpoint = lines[0];
const logger = createLogger({ level: 'error' });
const configAt = (rate: number) => resolveTracingConfig({ enabled: true, endpoint, sampleRate: rate, maxQueueSize: 1 << 16 }, {}, '0.0.0', 'bench');

/**
 * CPU µs per request of `body`, run `requests` times and then flushed, so that exporting what it
 * recorded is counted. A warm-up first creates the tracer provider and its channel, which a
 * server does once; the final shutdown is not counted either.
 */
async function cpuPerRequest(body: (i: number) => void, tracing: { flush(): Promise<void>; shutdown(): Promise<void> } | null): Promise<number> {
  for (let i = 0; i < 200; i++) body(-1 - i);
  await tracing?.flush();
  const start = process.cpuUsage();
  for (let i = 0; i < requests; i++) body(i);
  await tracing?.flush();
  const used = process.cpuUsage(start);
  await tracing?.shutdown();
  return (used.user + used.system) / requests;
}

/** The API thread's side of one request: the calls the generation route makes. */
function apiRequest(observer: RequestObserver | null, i: number, choices = 1): void {
  if (!observer) return; // all off: the server has no such observer at all
  const id = `chatcmpl-${i}`;
  const lifecycle = observer.begin('/v1/chat/completions', 'chat', id, {}, process.hrtime.bigint());
  lifecycle.described({ requestId: id, requestedModel: 'dummy', servedModel: 'dummy', temperature: 0.7, maxTokens: 64, n: choices, stream: true, promptTokens: 40 });
  for (let c = 0; c < choices; c++) lifecycle.traceFor(c);
  lifecycle.handedOff(process.hrtime.bigint());
  lifecycle.firstResponse(process.hrtime.bigint());
  for (let c = 0; c < choices; c++) {
    const now = process.hrtime.bigint();
    for (let t = 0; t < 64; t++) {
      const last = t === 63;
      // each output record brings its own copy of the stamps, as the ring's decoder makes them
      const stamps = { queuedNs: now, scheduledNs: now, firstTokenNs: now, finishedNs: last ? process.hrtime.bigint() : null, preemptions: [] };
      lifecycle.choiceEvent({ index: c, text: 'x', tokenIds: [1], finishReason: last ? 'length' : null, stamps, receivedNs: process.hrtime.bigint() });
    }
  }
  lifecycle.departed({ finishReasons: Array.from({ length: choices }, () => 'length' as const), promptTokens: 40, completionTokens: 64 * choices }, process.hrtime.bigint());
}

/** The steps of one 64-token request in a batch of 8: 64 profiled steps, each an eighth of this request's. */
function stepSpans(core: CoreTracing, i: number): void {
  for (let s = 0; s < 8; s++) {
    if (!core.stepSampled()) continue;
    const profile = emptyStepProfile();
    profile.step = i * 8 + s;
    profile.numSeqs = profile.numDecodeSeqs = profile.numDecodeTokens = 8;
    for (let q = 0; q < 8; q++) profile.batch.push({ seqId: q, requestId: `chatcmpl-${q}` });
    const at = performance.timeOrigin + performance.now();
    core.recordStep(profile, at, at, at);
  }
}

const params = resolveSamplingParams({ maxTokens: 64 });
const carrier = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: '' };

/** The worker's side of one request: its lifecycle events, built only when something listens. */
function coreRequest(onLifecycle: ((e: LifecycleEvent) => void) | null, traced: boolean, i: number): void {
  if (!onLifecycle) return; // tracing off: the engine builds no events
  const seq = new Sequence(i, `chatcmpl-${i}`, [1, 2, 3, 4], params, 4096, i);
  const emit = (type: LifecycleEvent['type'], extra: Partial<LifecycleEvent> = {}) => onLifecycle({ ...lifecycleEvent(type, seq, i, process.hrtime.bigint()), ...extra });
  emit('QUEUED', traced ? { trace: { carrier, choiceIndex: 0 } } : {});
  emit('SCHEDULED', { scheduleKind: 'FIRST' });
  seq.tokenIds.push(5);
  emit('FIRST_TOKEN');
  seq.status = 'finished';
  seq.finishReason = 'length';
  emit('FINISHED');
}

const variants = ['off', 'rate0.1', 'rate1.0', 'journeyStore', 'journeyStore+rate1.0'] as const;
const stepVariants = ['steps0.01', 'steps1.0'] as const;
const samples = {
  api: new Map(variants.map((v) => [v, [] as number[]])),
  worker: new Map<string, number[]>([...variants.filter((v) => !v.startsWith('journeyStore')), ...stepVariants].map((v) => [v, [] as number[]])),
};
const noTracing = { flush: async () => {}, shutdown: async () => {} };
for (let r = 0; r < rounds; r++) {
  for (const variant of variants) {
    const rate = variant === 'rate0.1' ? 0.1 : 1;
    const tracing = variant === 'off' || variant === 'journeyStore' ? null : new ApiTracing(configAt(rate), logger);
    const store = variant.startsWith('journeyStore') ? new JourneyStore({ capacity: 1000, maxBytes: 1 << 30 }) : null;
    const observer = tracing && store ? combineObservers([tracing, store]) : (tracing ?? store);
    samples.api.get(variant)?.push(await cpuPerRequest((i) => apiRequest(observer, i), tracing ?? noTracing));
    if (variant.startsWith('journeyStore')) continue; // the store lives on the API thread only
    const core = variant === 'off' ? null : new CoreTracing(configAt(rate), 0, logger);
    // the API thread samples; the worker follows the flag its records bring
    samples.worker.get(variant)?.push(await cpuPerRequest((i) => coreRequest(core?.onLifecycle ?? null, Math.abs(i) % 10 < rate * 10, i), core));
  }
  for (const variant of stepVariants) {
    const core = new CoreTracing({ ...configAt(1), stepSampleRate: variant === 'steps1.0' ? 1 : 0.01 }, 0, logger);
    samples.worker.get(variant)?.push(await cpuPerRequest((i) => stepSpans(core, i), core));
  }
}

/** The journey store's heap per journey: 1000 finished 64-token journeys of `choices` choices, measured after a full GC. */
function heapPerJourney(choices: number): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return null;
  gc();
  const before = process.memoryUsage().heapUsed;
  const store = new JourneyStore({ capacity: 1000, maxBytes: 1 << 30 });
  for (let i = 0; i < 1000; i++) apiRequest(store, i, choices);
  gc();
  const perJourney = (process.memoryUsage().heapUsed - before) / 1000;
  return store.size === 1000 ? perJourney : null;
}
const journeyBytes = heapPerJourney(1);
const journeyBytes8 = heapPerJourney(8);
const choiceBytes = journeyBytes !== null && journeyBytes8 !== null ? (journeyBytes8 - journeyBytes) / 7 : null;

receiver.stdin.end();
await once(receiver, 'exit');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = (m: Map<string, number[]>) => Object.fromEntries([...m].map(([k, xs]) => [k, round(median(xs), 2)]));
console.log(
  JSON.stringify({
    bench: 'tracing',
    unit: 'CPU µs per request',
    requests,
    rounds,
    api: summary(samples.api),
    worker: summary(samples.worker),
    spansReceived: Number(lines[1] ?? 0),
    journeyStoreBytesPerJourney: journeyBytes === null ? 'run with node --expose-gc' : Math.round(journeyBytes),
    journeyStoreBytesPerExtraChoice: choiceBytes === null ? 'run with node --expose-gc' : Math.round(choiceBytes),
    ...machine(),
  }),
);
