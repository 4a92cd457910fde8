/**
 * Prompt and decode throughput of the in-process engine the way llama.cpp's llama-batched-bench
 * measures them: for each number of parallel sequences `npl`, npl prompts of `npp` random tokens
 * are prefilled together (PP: npl·npp tokens over the time to every sequence's first token), then
 * every sequence decodes `ntg` more tokens together (TG: npl·ntg tokens over that time). Also the
 * time to load the model and the process's resident memory. One JSON line per npl.
 *
 *   npm run bench:batched -- --model PATH|dummy [--npp 128] [--ntg 32] [--npl 1,8,32] [--kernels auto]
 *                            [--threads-per-worker 1]
 */
import { parseArgs } from 'node:util';
import { createEngine } from '../lib/engine/create-engine.js';
import type { KernelBackendName } from '../lib/backends/registry.js';
import { parameterCount, type LlamaConfig } from '../lib/models/llama/llama-config.js';
import { Rng } from '../lib/util/rng.js';
import { machine, round } from './bench-util.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'dummy' },
    kernels: { type: 'string', default: 'auto' },
    npp: { type: 'string', default: '128' },
    ntg: { type: 'string', default: '32' },
    npl: { type: 'string', default: '1,8,32' },
    'max-num-batched-tokens': { type: 'string', default: '512' },
    seed: { type: 'string', default: '0' },
    'threads-per-worker': { type: 'string', default: '1' },
  },
});
const npp = Number(values.npp);
const ntg = Number(values.ntg);
const npls = values.npl.split(',').map(Number);
const maxSeqs = Math.max(...npls);

const loadStart = performance.now();
const engine = await createEngine({
  model: values.model,
  kernels: values.kernels as KernelBackendName,
  maxNumSeqs: maxSeqs,
  maxNumBatchedTokens: Math.max(Number(values['max-num-batched-tokens']), maxSeqs),
  maxModelLen: npp + ntg + 1,
  kvCacheTokens: maxSeqs * (npp + ntg + 1),
  enablePrefixCaching: false,
  threadsPerWorker: Number(values['threads-per-worker']),
});
const loadSeconds = (performance.now() - loadStart) / 1000;
const rssMiB = process.memoryUsage().rss / 2 ** 20;
const vocab = engine.config.modelConfig.vocabSize;
const rng = new Rng(Number(values.seed));
// ordinary tokens: past the byte and special tokens at the start of every vocabulary
const randomToken = () => (vocab > 2000 ? 1000 + (rng.nextUint32() % (Math.min(vocab, 30000) - 1000)) : 32 + (rng.nextUint32() % 95));

/** Runs npl sequences together; returns when all had their first token and when all ended. */
async function run(npl: number): Promise<{ ppSeconds: number; tgSeconds: number }> {
  const start = performance.now();
  let firsts = 0;
  let allFirst = 0;
  const one = async () => {
    const prompt = Array.from({ length: npp }, randomToken);
    let first = true;
    for await (const delta of engine.generate(prompt, { temperature: 0, maxTokens: ntg + 1, ignoreEos: true })) {
      if (first && delta.tokenIds.length > 0) {
        first = false;
        if (++firsts === npl) allFirst = performance.now();
      }
    }
  };
  await Promise.all(Array.from({ length: npl }, one));
  const end = performance.now();
  return { ppSeconds: (allFirst - start) / 1000, tgSeconds: (end - allFirst) / 1000 };
}

await run(1); // warm-up: compiles and touches the buffers
for (const npl of npls) {
  const { ppSeconds, tgSeconds } = await run(npl);
  console.log(
    JSON.stringify({
      bench: 'batched',
      system: 'journey-llm',
      model: values.model,
      parameters: parameterCount(engine.config.modelConfig as LlamaConfig),
      kernels: engine.config.kernels,
      threadsPerWorker: engine.config.threadsPerWorker,
      npp,
      ntg,
      npl,
      ppTokensPerSecond: round((npl * npp) / ppSeconds),
      tgTokensPerSecond: round((npl * ntg) / tgSeconds),
      loadSeconds: round(loadSeconds),
      rssMiB: round(rssMiB, 0),
      ...machine(),
    }),
  );
}
await engine.close();
