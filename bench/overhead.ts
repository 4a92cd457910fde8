/**
 * What journeys cost a server under load: the same seeded workload against four servers (all off;
 * the journey store alone, as by default; tracing at rate 1.0 with step spans at 0.01; tracing at
 * 1.0 with every step traced), exporting to a live OTLP receiver in its own process, in rounds
 * that rotate the order so that drift hits all alike. Reports each variant's median throughput
 * and TTFT/TPOT p50/p99, as ratios to all off, in one JSON line, and draws them as an SVG chart.
 * A progress line per round goes to stderr (about 2 minutes in all).
 *
 *   npm run bench:overhead -- [--model dummy] [--num-prompts 48] [--input-len 64] [--output-len 32]
 *        [--max-concurrency 8] [--rounds 3] [--svg docs/tracing-overhead.svg]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { machine, round } from './bench-util.js';
import { runLoad } from './serve/load.js';
import { ServerProcess } from './serve/server-process.js';
import { summarize, type ServeSummary } from './serve/summary.js';
import { makeWorkload } from './serve/workload.js';
import { barChart } from './svg-chart.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'dummy' },
    'num-prompts': { type: 'string', default: '48' },
    'input-len': { type: 'string', default: '64' },
    'output-len': { type: 'string', default: '32' },
    'max-concurrency': { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    svg: { type: 'string', default: 'docs/tracing-overhead.svg' },
  },
});
const rounds = Number(values.rounds);

// the receiver decodes every span in its own process, as a collector would
const receiver = spawn(process.execPath, [new URL('./receiver-process.js', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] });
const [first] = (await once(receiver.stdout, 'data')) as [Buffer];
const endpoint = first.toString().split('\n')[0];

const traced = ['--enable-journey-tracing', '--otlp-traces-endpoint', endpoint, '--journey-tracing-sample-rate', '1.0'];
const VARIANTS = [
  { name: 'off', args: ['--journey-history', '0'] },
  { name: 'journey store', args: [] as string[] },
  { name: 'traced 1.0, steps 0.01', args: [...traced, '--journey-step-sample-rate', '0.01'] },
  { name: 'traced 1.0, steps 1.0', args: [...traced, '--journey-step-sample-rate', '1.0'] },
];
const servers = await Promise.all(VARIANTS.map((v) => ServerProcess.start(['--model', values.model, '--workers', '1', ...v.args])));
const runs = new Map<string, ServeSummary[]>(VARIANTS.map((v) => [v.name, []]));
try {
  const workload = makeWorkload({
    dataset: 'fixed',
    numPrompts: Number(values['num-prompts']),
    inputLen: Number(values['input-len']),
    outputLen: Number(values['output-len']),
    rangeRatio: 0,
    seed: 0,
    maxModelLen: 4096,
  });
  const concurrency = Number(values['max-concurrency']);
  // one unmeasured round on every server: the first run of a fresh process is slower (JIT, first allocations)
  for (const server of servers) await runLoad(workload, { url: server.url, model: values.model, requestRate: Infinity, maxConcurrency: Number(values['max-concurrency']), seed: 99 });
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < VARIANTS.length; k++) {
      const i = (r + k) % VARIANTS.length; // rotate the order each round
      const { results, durationS } = await runLoad(workload, { url: servers[i].url, model: values.model, requestRate: Infinity, maxConcurrency: concurrency, seed: r });
      const summary = summarize(results, durationS);
      if (summary.failed > 0) throw new Error(`${VARIANTS[i].name}: ${summary.failed} requests failed: ${summary.firstError}`);
      runs.get(VARIANTS[i].name)?.push(summary);
      process.stderr.write(`round ${r + 1}/${rounds} ${VARIANTS[i].name}: ${summary.outputTokenThroughput.toFixed(1)} output tokens/s\n`);
    }
  }
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  receiver.stdin.end();
  await once(receiver, 'exit');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const figures = Object.fromEntries(
  [...runs].map(([name, summaries]) => [
    name,
    {
      outputTokensPerSecond: round(median(summaries.map((s) => s.outputTokenThroughput))),
      requestsPerSecond: round(median(summaries.map((s) => s.requestThroughput)), 3),
      ttftMs: { p50: round(median(summaries.map((s) => s.ttftMs.p50))), p99: round(median(summaries.map((s) => s.ttftMs.p99))) },
      tpotMs: { p50: round(median(summaries.map((s) => s.tpotMs.p50))), p99: round(median(summaries.map((s) => s.tpotMs.p99))) },
    },
  ]),
);
const off = figures.off;
const ratios = Object.fromEntries(
  Object.entries(figures)
    .filter(([name]) => name !== 'off')
    .map(([name, f]) => [
      name,
      {
        throughput: round(f.outputTokensPerSecond / off.outputTokensPerSecond, 3),
        ttftP50: round(f.ttftMs.p50 / off.ttftMs.p50, 3),
        ttftP99: round(f.ttftMs.p99 / off.ttftMs.p99, 3),
        tpotP50: round(f.tpotMs.p50 / off.tpotMs.p50, 3),
        tpotP99: round(f.tpotMs.p99 / off.tpotMs.p99, 3),
      },
    ]),
);

const names = VARIANTS.map((v) => (v.name === 'off' ? 'all off' : v.name));
const svg = barChart(
  'Journey store and tracing overhead: latency under the same load',
  names,
  [
    { title: 'Time to first token', unit: 'ms', groups: ['p50', 'p99'], values: VARIANTS.map((v) => [figures[v.name].ttftMs.p50, figures[v.name].ttftMs.p99]) },
    { title: 'Time per output token', unit: 'ms', groups: ['p50', 'p99'], values: VARIANTS.map((v) => [figures[v.name].tpotMs.p50, figures[v.name].tpotMs.p99]) },
  ],
  `${values.model}, ${values['num-prompts']} requests of ${values['input-len']}+${values['output-len']} tokens at concurrency ${values['max-concurrency']}, median of ${rounds} rounds; ${machine().cpus} vCPU`,
);
mkdirSync(dirname(values.svg), { recursive: true });
writeFileSync(values.svg, svg);
console.log(JSON.stringify({ bench: 'overhead', model: values.model, rounds, figures, ratiosToOff: ratios, svg: values.svg, ...machine() }));
