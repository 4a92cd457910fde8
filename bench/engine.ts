/**
 * Offline throughput of the in-process engine: a seeded workload of random prompt and output
 * lengths, all submitted at once after a warm-up, timed to the last token, for each kernel
 * backend named, one after the other on the same workload. One JSON line, with each backend's
 * output tokens/s and the first backend's speedup over each other one.
 *
 *   npm run bench:engine -- [--model dummy|PATH.gguf] [--kernels wasm,gpujs] [--num-prompts 64]
 *                           [--input-len 8:64] [--output-len 8:48] [--max-num-seqs 32] [--seed 0]
 *
 * About 3 minutes with the default model, almost all of it gpu.js's CPU mode; a progress line per
 * backend goes to stderr. With a GGUF file, only wasm runs unless --kernels says otherwise (gpu.js would hold an f32 copy
 * of every weight), and each backend's load time and the process's resident memory are reported.
 */
import { parseArgs } from 'node:util';
import { createEngine } from '../lib/engine/create-engine.js';
import { KERNEL_BACKENDS, type KernelBackendName } from '../lib/backends/registry.js';
import { parameterCount, type LlamaConfig } from '../lib/models/llama/llama-config.js';
import { isPresetName } from '../lib/models/presets.js';
import { Rng } from '../lib/util/rng.js';
import { machine, parseRange, round } from './bench-util.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'dummy' },
    kernels: { type: 'string' },
    'num-prompts': { type: 'string', default: '64' },
    'input-len': { type: 'string', default: '8:64' },
    'output-len': { type: 'string', default: '8:48' },
    'max-num-seqs': { type: 'string', default: '32' },
    seed: { type: 'string', default: '0' },
  },
});
const kernelList = (values.kernels ?? (isPresetName(values.model) ? 'wasm,gpujs' : 'wasm')).split(',') as KernelBackendName[];
for (const k of kernelList) if (!KERNEL_BACKENDS.includes(k)) throw new RangeError(`--kernels takes a list of ${KERNEL_BACKENDS.join(', ')}`);
const numPrompts = Number(values['num-prompts']);
const inputLen = parseRange(values['input-len'], '--input-len');
const outputLen = parseRange(values['output-len'], '--output-len');
const rng = new Rng(Number(values.seed));
const between = ([lo, hi]: [number, number]) => lo + (rng.nextUint32() % (hi - lo + 1));

// printable bytes for the byte vocabulary, ordinary tokens (past bytes and specials) for a real one
const randomToken = (vocab: number) => (vocab > 2000 ? 1000 + (rng.nextUint32() % (Math.min(vocab, 30000) - 1000)) : 32 + (rng.nextUint32() % 95));
const shapes = Array.from({ length: numPrompts }, () => ({ promptLen: between(inputLen), maxTokens: between(outputLen) }));
const inputTokens = shapes.reduce((a, w) => a + w.promptLen, 0);
let parameters = 0;

async function measure(kernels: KernelBackendName) {
  const loadStart = performance.now();
  const engine = await createEngine({ model: values.model, kernels, maxNumSeqs: Number(values['max-num-seqs']), seed: Number(values.seed) });
  const loadSeconds = (performance.now() - loadStart) / 1000;
  const rssMiB = process.memoryUsage().rss / 2 ** 20;
  parameters = parameterCount(engine.config.modelConfig as LlamaConfig);
  const vocab = engine.config.modelConfig.vocabSize;
  const workload = shapes.map((w) => ({ prompt: Array.from({ length: w.promptLen }, () => randomToken(vocab)), maxTokens: w.maxTokens }));
  const run = async (prompt: number[], maxTokens: number) => {
    let n = 0;
    for await (const delta of engine.generate(prompt, { maxTokens, ignoreEos: true, temperature: 1, seed: prompt.length })) n += delta.tokenIds.length;
    return n;
  };
  // warm-up: compiles every kernel shape the run will use
  await Promise.all(workload.slice(0, 8).map((w) => run(w.prompt, 2)));
  const start = performance.now();
  const outputs = await Promise.all(workload.map((w) => run(w.prompt, w.maxTokens)));
  const seconds = (performance.now() - start) / 1000;
  await engine.close();
  const outputTokens = outputs.reduce((a, b) => a + b, 0);
  return {
    loadSeconds: round(loadSeconds),
    rssMiB: round(rssMiB, 0),
    seconds: round(seconds),
    outputTokens,
    requestsPerSecond: round(numPrompts / seconds, 3),
    outputTokensPerSecond: round(outputTokens / seconds),
    totalTokensPerSecond: round((inputTokens + outputTokens) / seconds),
  };
}

const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
for (const k of kernelList) {
  // gpu.js on the CPU takes minutes here: say what is running
  process.stderr.write(`bench:engine: ${k}…\n`);
  results[k] = await measure(k);
  process.stderr.write(`bench:engine: ${k} done, ${results[k].outputTokensPerSecond} output tokens/s\n`);
}
const first = kernelList[0];
const speedup = Object.fromEntries(kernelList.slice(1).map((k) => [`${first}Over${k[0].toUpperCase()}${k.slice(1)}`, round(results[first].outputTokensPerSecond / results[k].outputTokensPerSecond, 1)]));
console.log(
  JSON.stringify({
    bench: 'engine',
    model: values.model,
    parameters,
    numPrompts,
    maxNumSeqs: Number(values['max-num-seqs']),
    inputTokens,
    results,
    ...speedup,
    ...machine(),
  }),
);
