/**
 * A soak: mixed load against one server process for --minutes, with journey tracing to a
 * collector that is live, then dead, then a black hole, then live again (a quarter each),
 * sampling the server's RSS, open sockets, event-loop delay and open spans every few seconds,
 * timing /health four times a second, and opening a connection that never reads every 10 s.
 * Prints a progress line per sample on stderr, one JSON line of results on stdout, and writes
 * the RSS chart (SVG) to --chart.
 *
 *   npm run bench:soak -- [--minutes 3] [--clients 16] [--model dummy-tiny] [--sample-seconds 5] [--chart docs/soak-rss.svg]
 *
 * Reads /proc, so Linux only. After the load stops it waits for the engine to go idle and checks
 * that no KV block and no span is left behind.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { machine, round } from './bench-util.js';
import { percentile } from './serve/summary.js';
import { ServerProcess } from './serve/server-process.js';
import { CollectorSwitch, type CollectorMode } from './soak/collector-switch.js';
import { MixedLoad } from './soak/mixed-load.js';
import { NonReaders } from './soak/non-readers.js';
import { sampleProcess, type ProcessSample } from './soak/process-sampler.js';
import { lineChart } from './svg-chart.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '3' },
    clients: { type: 'string', default: '16' },
    model: { type: 'string', default: 'dummy-tiny' },
    'sample-seconds': { type: 'string', default: '5' },
    chart: { type: 'string', default: 'docs/soak-rss.svg' },
    seed: { type: 'string', default: '1' },
  },
});
const totalSeconds = Number(values.minutes) * 60;
const sampleSeconds = Number(values['sample-seconds']);
const PHASES: CollectorMode[] = ['live', 'dead', 'black-hole', 'live'];

const receiver = spawn(process.execPath, [new URL('./receiver-process.js', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] });
const [receiverLine] = (await once(receiver.stdout, 'data')) as [Buffer];
const collector = await CollectorSwitch.start(Number(new URL(receiverLine.toString().trim()).port));
const server = await ServerProcess.start([
  '--model', values.model,
  '--workers', '1',
  '--enable-journey-tracing',
  '--otlp-traces-endpoint', collector.url,
]);

const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;
const samples: ProcessSample[] = [await sampleProcess(server.pid, server.url, 0)];
const load = new MixedLoad(server.url, values.model, Number(values.seed));
const loadDone = load.run(Number(values.clients), () => elapsed() < totalSeconds);
// beside them, a connection every 10 s that pipelines requests and never reads (default 30 s stall timeout)
const nonReaders = new NonReaders(server.url, 30);
const nonReadersDone = nonReaders.run(10, () => elapsed() < totalSeconds - 40);
// /health asked four times a second throughout: an orchestrator's probe must never wait
const healthMs: number[] = [];
const healthDone = (async () => {
  while (elapsed() < totalSeconds) {
    const start = performance.now();
    await (await fetch(`${server.url}/health`)).arrayBuffer();
    healthMs.push(performance.now() - start);
    await delay(250);
  }
})();

const bands = PHASES.map((label, i) => ({ from: (i * totalSeconds) / PHASES.length, to: ((i + 1) * totalSeconds) / PHASES.length, label: `collector ${label}` }));
let phase = 0;
while (elapsed() < totalSeconds) {
  await delay(sampleSeconds * 1000);
  const now = elapsed();
  const wanted = Math.min(PHASES.length - 1, Math.floor((now / totalSeconds) * PHASES.length));
  if (wanted !== phase) collector.setMode(PHASES[(phase = wanted)]);
  const sample = await sampleProcess(server.pid, server.url, now);
  samples.push(sample);
  const done = [...load.outcomes.values()].reduce((a, b) => a + b, 0);
  process.stderr.write(`soak ${Math.round(now)}/${totalSeconds} s, collector ${PHASES[phase]}: ${done} requests, RSS ${sample.rssMiB.toFixed(0)} MiB (API heap ${sample.heapUsedMiB.toFixed(0)}), ${sample.openSockets} sockets, loop p99 ${sample.eventLoopDelayP99Ms.toFixed(1)} ms\n`);
}
await loadDone;
await healthDone;
await nonReadersDone;

// drained: nothing running, then every block and span must be back
let after = await sampleProcess(server.pid, server.url, elapsed());
for (let i = 0; i < 100 && (after.running > 0 || after.openSpans > 0); i++) {
  await delay(100);
  after = await sampleProcess(server.pid, server.url, elapsed());
}
samples.push(after);
await server.stop();
await collector.close();
receiver.stdin.end();
const [received] = (await once(receiver.stdout, 'data')) as [Buffer];

const rss = samples.map((s) => s.rssMiB);
const sortedHealth = [...healthMs].sort((a, b) => a - b);
const byOutcome = Object.fromEntries([...load.outcomes.entries()].sort());
const result = {
  bench: 'soak',
  minutes: Number(values.minutes),
  model: values.model,
  clients: Number(values.clients),
  phases: PHASES,
  requests: Object.values(byOutcome).reduce((a, b) => a + b, 0),
  byOutcome,
  nonReaders: Object.fromEntries(nonReaders.outcomes),
  rssMiB: { start: round(rss[0], 1), end: round(rss.at(-1) as number, 1), max: round(Math.max(...rss), 1) },
  apiHeapUsedMiB: { start: round(samples[0].heapUsedMiB, 1), end: round(after.heapUsedMiB, 1), max: round(Math.max(...samples.map((s) => s.heapUsedMiB)), 1) },
  socketsMax: Math.max(...samples.map((s) => s.openSockets)),
  healthMs: { p50: round(percentile(sortedHealth, 50), 1), p99: round(percentile(sortedHealth, 99), 1), max: round(sortedHealth.at(-1) ?? NaN, 1), probes: sortedHealth.length },
  eventLoopDelayP99MsMax: round(Math.max(...samples.map((s) => s.eventLoopDelayP99Ms)), 1),
  after: { kvCacheUsage: after.kvCacheUsage, openSpans: after.openSpans, running: after.running },
  spansReceived: Number(received.toString().trim()),
  machine: machine(),
};
process.stdout.write(`${JSON.stringify(result)}\n`);

const chart = lineChart(
  `journey-llm soak: server RSS over ${values.minutes} min of mixed load`,
  { x: 'seconds', y: 'MiB' },
  [
    { name: 'RSS (MiB)', points: samples.map((s) => [s.atSeconds, s.rssMiB] as const) },
    { name: 'API heap used (MiB)', points: samples.map((s) => [s.atSeconds, s.heapUsedMiB] as const) },
    { name: 'open sockets', points: samples.map((s) => [s.atSeconds, s.openSockets] as const) },
  ],
  bands,
  `${result.requests} requests, ${values.clients} clients, ${values.model}; ${machine().cpus} CPUs, ${machine().cpu}, Node ${process.version}`,
);
await writeFile(values.chart, chart);
