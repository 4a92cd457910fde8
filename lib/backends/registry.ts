import { existsSync, readdirSync } from 'node:fs';
import type { KernelBackend } from './backend.js';
import { GPUJS_BACKEND } from './gpujs/gpujs-backend.js';
import { hasWebGpuAdapter } from './gpujs/webgpu-setup.js';
import { f32Tensor } from '../tensors/weights.js';
import { NATIVE_BACKEND } from './native/native-backend.js';
import { REFERENCE_BACKEND } from './reference/reference-backend.js';
import { WASM_BACKEND } from './wasm/wasm-backend.js';
import { monotonicMs } from '../util/clock.js';

export type { GpuJsMode } from './gpujs/gpujs-kernels.js';
export { GPUJS_MODES } from './gpujs/gpujs-backend.js';
export { NATIVE_ISAS, type NativeIsa } from './native/native-backend.js';

/** Every kernel backend, by name: the one place that knows them. */
const BACKENDS = [NATIVE_BACKEND, WASM_BACKEND, GPUJS_BACKEND, REFERENCE_BACKEND] as const;

export type KernelBackendName = 'native' | 'wasm' | 'gpujs' | 'reference';
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
 * The rule behind `--kernels auto`, as measured by `npm run bench:llamacpp` and
 * `npm run bench:kernels`:
 *
 * 1. On a CPU, the native kernels where the addon was built and the CPU has one of their SIMD
 *    paths (AVX-512 VNNI, AVX2): they run at llama.cpp's speed. Otherwise the WebAssembly SIMD
 *    kernels, portable to any machine, at 0.2 to 0.7 of it; the reason says why.
 * 2. Where the machine has a GPU device and gpu.js finds a WebGPU adapter, gpu.js in webgpu mode
 *    is timed against that CPU backend on `shape` (the model's largest matmul at the engine's
 *    batch size) and the faster one is used.
 *
 * Without a GPU device no adapter is asked for, so a CPU-only server loads no GPU driver.
 */
export async function chooseBackend(shape: MatmulShape): Promise<KernelChoice> {
  const nativeWhy = await NATIVE_BACKEND.unavailable('auto');
  const cpu: KernelChoice =
    nativeWhy === null
      ? { backend: NATIVE_BACKEND, mode: 'auto', reason: 'native kernels for this CPU' }
      : { backend: WASM_BACKEND, mode: '', reason: `WebAssembly SIMD: the native kernels are unavailable (${nativeWhy})` };
  if (!hasGpuDevice()) return { ...cpu, reason: `no GPU device; ${cpu.reason}` };
  if (!(await hasWebGpuAdapter())) return { ...cpu, reason: `a GPU device but no WebGPU adapter; ${cpu.reason}` };
  const cpuMs = await timeMatmul(cpu.backend, cpu.mode, shape);
  const webgpuMs = await timeMatmul(GPUJS_BACKEND, 'webgpu', shape);
  const times = `${cpuMs.toFixed(2)} ms on ${cpu.backend.name}, ${webgpuMs.toFixed(2)} ms on gpu.js webgpu per matmul of ${shape.rows}×${shape.cols} at ${shape.n} rows`;
  return webgpuMs < cpuMs ? { backend: GPUJS_BACKEND, mode: 'webgpu', reason: `WebGPU adapter faster: ${times}` } : { ...cpu, reason: `WebGPU adapter slower: ${times}` };
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
