/**
 * Two ways to spend a machine's cores on one model: several engine workers of one thread each
 * (--workers N), or one engine whose forward pass runs on several threads (--threads-per-worker N),
 * or a mix. The same streamed workload (fixed prompt and output lengths) at each concurrency
 * against a server started with each layout; one JSON line per (layout, concurrency) with output
 * tok/s and TTFT/TPOT p50/p99, and its ratio to the first layout.
 *
 *   npm run bench:threads -- [--model dummy] [--layouts 2x1,1x2,1x1] [--concurrency 1,8,32]
 *        [--input-len 128] [--output-len 32] [--prompts 16]
 *
 * A layout WxT is W workers of T threads each. About 3 minutes with the defaults on 2 cores.
 */
import { parseArgs } from 'node:util';
import { machine, round } from './bench-util.js';
import { runLoad } from './serve/load.js';
import { ServerProcess } from './serve/server-process.js';
import { summarize, type ServeSummary } from './serve/summary.js';
import { makeWorkload } from './serve/workload.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'dummy' },
    layouts: { type: 'string', default: '2x1,1x2,1x1' },
    concurrency: { type: 'string', default: '1,8,32' },
    'input-len': { type: 'string', default: '128' },
    'output-len': { type: 'string', default: '32' },
    prompts: { type: 'string', default: '16' },
  },
});
const layouts = values.layouts.split(',').map((l) => {
  const [workers, threads] = l.split('x').map(Number);
  if (!(workers >= 1 && threads >= 1)) throw new RangeError(`a layout is WxT, e.g. 2x1, not ${l}`);
  return { name: l, workers, threads };
});
const concurrencies = values.concurrency.split(',').map(Number);
const inputLen = Number(values['input-len']);
const outputLen = Number(values['output-len']);

for (const concurrency of concurrencies) {
  let first: ServeSummary | null = null;
  for (const layout of layouts) {
    const server = await ServerProcess.start([
      '--model', values.model, '--workers', String(layout.workers), '--threads-per-worker', String(layout.threads),
      '--max-num-seqs', String(Math.max(1, Math.ceil(concurrency / layout.workers))), '--max-model-len', String(inputLen + outputLen + 8), '--disable-log-stats',
    ]);
    try {
      const served = ((await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string }[] }).data[0].id;
      const workload = makeWorkload({ dataset: 'fixed', numPrompts: Math.max(Number(values.prompts), 2 * concurrency), inputLen, outputLen, rangeRatio: 0, seed: 3, maxModelLen: inputLen + outputLen + 8 });
      await runLoad(workload.slice(0, layout.workers * 2), { url: server.url, model: served, requestRate: Infinity, maxConcurrency: layout.workers * 2, seed: 1 });
      const { results, durationS } = await runLoad(workload, { url: server.url, model: served, requestRate: Infinity, maxConcurrency: concurrency, seed: 1 });
      const s = summarize(results, durationS);
      first ??= s;
      console.log(
        JSON.stringify({
          bench: 'threads',
          model: values.model,
          layout: layout.name,
          workers: layout.workers,
          threadsPerWorker: layout.threads,
          concurrency,
          failed: s.failed,
          outputTokPerS: round(s.outputTokenThroughput, 1),
          ttftP50Ms: round(s.ttftMs.p50, 1),
          ttftP99Ms: round(s.ttftMs.p99, 1),
          tpotP50Ms: round(s.tpotMs.p50, 2),
          tpotP99Ms: round(s.tpotMs.p99, 2),
          vsFirst: { outputTokPerS: round(s.outputTokenThroughput / first.outputTokenThroughput, 3), ttftP50: round(s.ttftMs.p50 / first.ttftMs.p50, 3), tpotP50: round(s.tpotMs.p50 / first.tpotMs.p50, 3) },
          ...machine(),
        }),
      );
    } finally {
      await server.stop();
    }
  }
}
