/**
 * GFLOPS of each kernel backend's matmul at a model's matmul shapes, batch 1, 8 and 32, beside a
 * plain Float32Array loop, with each backend's inputs and outputs where its engine keeps them
 * (in the shared memory for wasm). One JSON line per (shape, batch), with wasm's speedup over
 * gpu.js's best mode.
 *
 *   npm run bench:kernels -- [--model dummy] [--batches 1,8,32] [--min-ms 200]
 */
import { parseArgs } from 'node:util';
import { GpuJsKernels } from '../lib/backends/gpujs/gpujs-kernels.js';
import type { Kernels } from '../lib/backends/kernels.js';
import { f32Tensor } from '../lib/tensors/weights.js';
import { ReferenceKernels } from '../lib/backends/reference/reference-kernels.js';
import { WasmKernels } from '../lib/backends/wasm/wasm-kernels.js';
import { kvDim, qDim } from '../lib/models/llama/llama-config.js';
import { isPresetName, MODEL_PRESETS } from '../lib/models/presets.js';
import { Rng } from '../lib/util/rng.js';
import { machine, round, timePerCall } from './bench-util.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'dummy' },
    batches: { type: 'string', default: '1,8,32' },
    'min-ms': { type: 'string', default: '200' },
  },
});
if (!isPresetName(values.model)) throw new RangeError(`unknown model ${values.model}`);
const config = MODEL_PRESETS[values.model];
const batches = values.batches.split(',').map(Number);
const minMs = Number(values['min-ms']);

const shapes: [string, number, number][] = [
  ['wq', qDim(config), config.dim],
  ['wk', kvDim(config), config.dim],
  ['wo', config.dim, qDim(config)],
  ['wGate', config.hiddenDim, config.dim],
  ['wDown', config.dim, config.hiddenDim],
  ['lmHead', config.vocabSize, config.dim],
];

/** out[n, rows] = x[n, cols] · wᵀ with four f32 partial sums: the best plain JavaScript does here. */
function plainLoop(out: Float32Array, x: Float32Array, w: Float32Array, n: number, rows: number, cols: number): void {
  for (let t = 0; t < n; t++) {
    const xo = t * cols;
    for (let r = 0; r < rows; r++) {
      const wo = r * cols;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let c = 0;
      for (; c + 3 < cols; c += 4) {
        s0 += x[xo + c] * w[wo + c];
        s1 += x[xo + c + 1] * w[wo + c + 1];
        s2 += x[xo + c + 2] * w[wo + c + 2];
        s3 += x[xo + c + 3] * w[wo + c + 3];
      }
      for (; c < cols; c++) s0 += x[xo + c] * w[wo + c];
      out[t * rows + r] = s0 + s1 + s2 + s3;
    }
  }
}

const backends: Kernels[] = [
  new WasmKernels({ maxContextLen: config.maxSeqLen }),
  new ReferenceKernels(config.maxSeqLen),
  new GpuJsKernels({ mode: 'cpu', maxContextLen: config.maxSeqLen }),
  new GpuJsKernels({ mode: 'webasm', maxContextLen: config.maxSeqLen }),
];
const rng = new Rng(1);
const { cpus, cpu, node } = machine();

for (const [name, rows, cols] of shapes) {
  const w = new Float32Array(rows * cols);
  rng.fillUniform(w, 1 / Math.sqrt(cols));
  const resident = backends.map((b) => b.loadMatrix(f32Tensor(w, rows, cols)));
  for (const n of batches) {
    const flop = 2 * rows * cols * n;
    const gflops: Record<string, number> = {};
    const plainX = new Float32Array(n * cols);
    rng.fillUniform(plainX, 1);
    const plainOut = new Float32Array(n * rows);
    gflops['f32-loop'] = round(flop / (await timePerCall(() => plainLoop(plainOut, plainX, w, n, rows, cols), minMs)) / 1e6);
    for (let i = 0; i < backends.length; i++) {
      const x = backends[i].allocateFloat32(n * cols);
      x.set(plainX);
      const out = backends[i].allocateFloat32(n * rows);
      gflops[backends[i].name] = round(flop / (await timePerCall(() => backends[i].matmul(out, x, resident[i], n), minMs)) / 1e6);
    }
    const gpujsBest = Math.max(gflops['gpujs-cpu'], gflops['gpujs-webasm']);
    console.log(JSON.stringify({ bench: 'kernels', model: values.model, matrix: name, rows, cols, batch: n, gflops, wasmOverGpujs: round(gflops.wasm / gpujsBest, 1), cpus, cpu, node }));
  }
}
for (const b of backends) b.dispose();
