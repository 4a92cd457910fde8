import { existsSync, readdirSync } from 'node:fs';
import type { KernelBackend } from './backend.js';
import { GPUJS_BACKEND } from './gpujs/gpujs-backend.js';
import { hasWebGpuAdapter } from './gpujs/webgpu-setup.js';
import { f32Tensor } from '../tensors/weights.js';
import { REFERENCE_BACKEND } from './reference/reference-backend.js';
import { WASM_BACKEND } from './wasm/wasm-backend.js';
import { monotonicMs } from '../util/clock.js';

export type { GpuJsMode } from './gpujs/gpujs-kernels.js';
export { GPUJS_MODES } from './gpujs/gpujs-backend.js';

/** Every kernel backend, by name: the one place that knows them. */
const BACKENDS = [WASM_BACKEND, GPUJS_BACKEND, REFERENCE_BACKEND] as const;

export type KernelBackendName = 'wasm' | 'gpujs' | 'reference';
export const KERNEL_BACKENDS: readonly KernelBackendName[] = BACKENDS.map((b) => b.name as KernelBackendName);

/** The backends that split a forward pass over a team of threads, and so take a thread count. */
export const THREADED_BACKENDS: readonly KernelBackendName[] = BACKENDS.filter((b) => b.threading === 'team').map((b) => b.name as KernelBackendName);

/** The backend called `name`; a RangeError listing them for another name. */
export function backendNamed(name: string): KernelBackend {
  const backend = BACKENDS.find((b) => b.name === name);
  if (!backend) throw new RangeError(`kernels must be one of ${KERNEL_BACKENDS.join(', ')}`);
  return backend;
}

/** The shape a backend choice is timed on: a matmul of `rows` × `cols` weights against `n` rows of activations. */
export interface MatmulShape {
  readonly rows: number;
  readonly cols: number;
  readonly n: number;
}

export interface KernelChoice {
  readonly backend: KernelBackend;
  /** The backend's mode, or '' for a backend without modes. */
  readonly mode: string;
  /** Why, in words, for the start-up log line. */
  readonly reason: string;
}

/** Whether the machine shows a GPU device node: only then is a WebGPU adapter worth asking for. */
function hasGpuDevice(): boolean {
  try {
    if (readdirSync('/dev').some((d) => /^nvidia\d+$/.test(d))) return true;
    return existsSync('/dev/dri') && readdirSync('/dev/dri').some((d) => d.startsWith('renderD'));
  } catch {
    return false;
  }
}

/**
 * The rule behind `--kernels auto`, as measured by `npm run bench:kernels`:
 *
 * 1. On a CPU, the WebAssembly SIMD kernels: on these machines they compute matmuls at
 *    25–60 GFLOPS on one thread, where gpu.js reaches 1.4 in its best CPU mode and plain
 *    JavaScript 1.9.
 * 2. Where the machine has a GPU device and gpu.js finds a WebGPU adapter, gpu.js in webgpu mode
 *    is timed against wasm on `shape` (the model's largest matmul at the engine's batch size) and
 *    the faster one is used.
 *
 * Without a GPU device no adapter is asked for, so a CPU-only server loads no GPU driver.
 */
export async function chooseBackend(shape: MatmulShape): Promise<KernelChoice> {
  if (!hasGpuDevice()) return { backend: WASM_BACKEND, mode: '', reason: 'no GPU device: WebAssembly SIMD is the fastest CPU backend' };
  if (!(await hasWebGpuAdapter())) return { backend: WASM_BACKEND, mode: '', reason: 'a GPU device but no WebGPU adapter: WebAssembly SIMD' };
  const wasmMs = await timeMatmul(WASM_BACKEND, '', shape);
  const webgpuMs = await timeMatmul(GPUJS_BACKEND, 'webgpu', shape);
  const times = `${wasmMs.toFixed(2)} ms on wasm, ${webgpuMs.toFixed(2)} ms on gpu.js webgpu per matmul of ${shape.rows}×${shape.cols} at ${shape.n} rows`;
  return webgpuMs < wasmMs ? { backend: GPUJS_BACKEND, mode: 'webgpu', reason: `WebGPU adapter faster: ${times}` } : { backend: WASM_BACKEND, mode: '', reason: `WebGPU adapter slower: ${times}` };
}

/** Milliseconds per call of an f32 matmul of `shape` on `backend`. */
async function timeMatmul(backend: KernelBackend, mode: string, { rows, cols, n }: MatmulShape): Promise<number> {
  const w = new Float32Array(rows * cols).fill(0.01);
  const x = new Float32Array(n * cols).fill(0.5);
  const out = new Float32Array(n * rows);
  const kernels = await backend.create({ maxContextLen: 16, threads: 1, ...(mode ? { mode } : {}) });
  try {
    const m = kernels.loadMatrix(f32Tensor(w, rows, cols));
    await kernels.matmul(out, x, m, n); // compiles and uploads
    const start = monotonicMs();
    for (let i = 0; i < 3; i++) await kernels.matmul(out, x, m, n);
    return (monotonicMs() - start) / 3;
  } finally {
    kernels.dispose();
  }
}
