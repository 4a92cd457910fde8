/**
 * The serving benchmark: a seeded workload of streamed completions against a running server
 * (--url) or one it starts, at a Poisson request rate or a fixed concurrency. Prints request and
 * token throughput, mean/p50/p90/p99 of TTFT, TPOT, inter-token latency and end-to-end latency,
 * and goodput against optional TTFT/TPOT targets, as one JSON line; a progress bar on a terminal.
 *
 *   npm run bench:serve -- [--url http://127.0.0.1:8000] [--model dummy]
 *        [--dataset mixed|fixed] [--num-prompts 100] [--input-len 64] [--output-len 32] [--range-ratio 0]
 *        [--request-rate inf] [--max-concurrency 16] [--goodput-ttft-ms N] [--goodput-tpot-ms N]
 *        [--seed 0] [--server-args "--workers 1 --enable-journey-tracing ..."]
 */
import { parseArgs } from 'node:util';
import { machine } from './bench-util.js';
import { runLoad } from './serve/load.js';
import { ProgressBar } from './serve/progress.js';
import { ServerProcess } from './serve/server-process.js';
import { summarize } from './serve/summary.js';
import { makeWorkload, type Dataset } from './serve/workload.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    model: { type: 'string', default: 'dummy' },
    dataset: { type: 'string', default: 'mixed' },
    'num-prompts': { type: 'string', default: '100' },
    'input-len': { type: 'string', default: '64' },
    'output-len': { type: 'string', default: '32' },
    'range-ratio': { type: 'string', default: '0' },
    'request-rate': { type: 'string', default: 'inf' },
    'max-concurrency': { type: 'string', default: '16' },
    'goodput-ttft-ms': { type: 'string' },
    'goodput-tpot-ms': { type: 'string' },
    seed: { type: 'string', default: '0' },
    'server-args': { type: 'string', default: '' },
  },
});
const dataset = values.dataset as Dataset;
if (dataset !== 'fixed' && dataset !== 'mixed') throw new RangeError('--dataset must be fixed or mixed');
const rate = values['request-rate'] === 'inf' ? Infinity : Number(values['request-rate']);
const concurrency = values['max-concurrency'] === 'inf' ? Infinity : Number(values['max-concurrency']);

const server = values.url ? null : await ServerProcess.start(['--model', values.model, ...values['server-args'].split(' ').filter(Boolean)]);
const url = values.url ?? (server as ServerProcess).url;
try {
  const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string; max_model_len: number }[] };
  const served = models.data[0];
  const workload = makeWorkload({
    dataset,
    numPrompts: Number(values['num-prompts']),
    inputLen: Number(values['input-len']),
    outputLen: Number(values['output-len']),
    rangeRatio: Number(values['range-ratio']),
    seed: Number(values.seed),
    maxModelLen: served.max_model_len,
  });
  // warm-up: a few requests so that start-up costs (compiles, first allocations) are not measured
  await runLoad(workload.slice(0, 4), { url, model: served.id, requestRate: Infinity, maxConcurrency: 4, seed: 1 });
  const progress = new ProgressBar(workload.length, 'bench:serve');
  const { results, durationS } = await runLoad(workload, { url, model: served.id, requestRate: rate, maxConcurrency: concurrency, seed: Number(values.seed), onDone: (r) => progress.tick(!r.ok) });
  const targets = {
    ...(values['goodput-ttft-ms'] ? { ttftMs: Number(values['goodput-ttft-ms']) } : {}),
    ...(values['goodput-tpot-ms'] ? { tpotMs: Number(values['goodput-tpot-ms']) } : {}),
  };
  const summary = summarize(results, durationS, targets);
  console.log(
    JSON.stringify({
      bench: 'serve',
      model: served.id,
      server: server?.info ?? { url },
      dataset,
      numPrompts: workload.length,
      requestRate: values['request-rate'],
      maxConcurrency: values['max-concurrency'],
      ...summary,
      ...(Object.keys(targets).length > 0 ? { goodputTargets: targets } : {}),
      ...machine(),
    }),
  );
} finally {
  await server?.stop();
}
