/**
 * Where a forward pass spends its time, kernel by kernel: a prompt of --prompt tokens, then
 * --steps single-token decode steps after it, on the wasm kernels at --threads threads. Each
 * kernel call is timed around (on the engine's thread: a shared kernel counts until its last
 * thread is done). One JSON line per phase with each kernel's milliseconds and share; the rest of
 * the phase (JS between kernels) is `other`.
 *
 *   npm run bench:profile -- --model FILE|dummy [--prompt 512] [--steps 32] [--threads 1]
 */
import { parseArgs } from 'node:util';
import { prepareEngine } from '../lib/engine/resolve-config.js';
import type { Kernels } from '../lib/backends/kernels.js';
import { createWasmKernels } from '../lib/backends/wasm/wasm-kernels.js';
import { weightsView } from '../lib/models/load-weights.js';
import { architectureNamed } from '../lib/models/registry.js';
import { machine, round } from './bench-util.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'dummy' },
    prompt: { type: 'string', default: '512' },
    steps: { type: 'string', default: '32' },
    threads: { type: 'string', default: '1' },
  },
});
const promptLen = Number(values.prompt);
const steps = Number(values.steps);
const threads = Number(values.threads);
const contextLen = promptLen + steps + 8;

const { config, weights } = await prepareEngine({ model: values.model, kernels: 'wasm', maxModelLen: contextLen, maxNumBatchedTokens: Math.max(promptLen, 1) });
if (weights.kind !== 'wasm-memory') throw new Error('the wasm kernels keep their weights in wasm memory');
const kernels = await createWasmKernels({ maxContextLen: contextLen, memory: weights.memory, threads });

/** Milliseconds per kernel (matmuls by shape) since the last reset. */
const spent = new Map<string, number>();
const timed = new Proxy(kernels, {
  get(target, name, receiver) {
    const value = Reflect.get(target, name, receiver);
    if (typeof value !== 'function' || ['allocateFloat32', 'allocateInt32', 'loadMatrix', 'createKvCache', 'dispose'].includes(String(name))) return typeof value === 'function' ? value.bind(target) : value;
    return (...args: unknown[]) => {
      const start = performance.now();
      const result = value.apply(target, args);
      const m = args[2] as { rows?: number; cols?: number; type?: number };
      const key = name === 'matmul' ? `matmul ${m.rows}×${m.cols}` : String(name);
      spent.set(key, (spent.get(key) ?? 0) + performance.now() - start);
      return result;
    };
  },
}) as Kernels;

const architecture = architectureNamed(config.modelConfig.architecture);
if (!architecture) throw new RangeError(`no architecture ${config.modelConfig.architecture}`);
const model = architecture.build(config.modelConfig, weightsView(weights), timed, { maxTokens: Math.max(promptLen, 1), maxLogits: 1, kvCacheSlots: contextLen, blockSize: contextLen, maxBlocksPerSeq: 1, maxContextLen: contextLen });
const forward = (len: number, start: number) =>
  model.forward({
    numTokens: len,
    tokenIds: Int32Array.from({ length: len }, (_, i) => 1000 + ((start + i) % 997)),
    positions: Int32Array.from({ length: len }, (_, i) => start + i),
    slotMapping: Int32Array.from({ length: len }, (_, i) => start + i),
    tokenSeq: new Int32Array(len),
    blockTables: new Int32Array(1),
    logitRows: Int32Array.of(len - 1),
    numLogits: 1,
  });

function report(phase: string, totalMs: number, tokens: number): void {
  const kernelsMs = [...spent.values()].reduce((a, b) => a + b, 0);
  const rows = [...spent.entries()].sort((a, b) => b[1] - a[1]).map(([k, ms]) => ({ kernel: k, ms: round(ms, 2), share: round(ms / totalMs, 3) }));
  rows.push({ kernel: 'other', ms: round(totalMs - kernelsMs, 2), share: round((totalMs - kernelsMs) / totalMs, 3) });
  console.log(JSON.stringify({ bench: 'profile', model: values.model, threads, phase, tokens, ms: round(totalMs, 2), tokPerS: round((tokens / totalMs) * 1000, 1), kernels: rows, ...machine() }));
}

await forward(promptLen, 0); // warm-up: compiles and touches the buffers
spent.clear();
let start = performance.now();
await forward(promptLen, 0);
report(`prompt ${promptLen}`, performance.now() - start, promptLen);
spent.clear();
start = performance.now();
for (let i = 0; i < steps; i++) await forward(1, promptLen + i);
report(`decode after ${promptLen}`, performance.now() - start, steps);
kernels.dispose();
