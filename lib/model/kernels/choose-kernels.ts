import { existsSync, readdirSync } from 'node:fs';
import type { ModelConfig } from '../model-config.js';
import type { KernelBackendName } from './create-kernels.js';
import { GpuJsKernels, type GpuJsMode } from './gpujs.js';
import { f32Tensor } from './kernels.js';
import { WasmKernels } from './wasm.js';
import { hasWebGpuAdapter, provideNavigatorGpu } from './webgpu-setup.js';

export interface KernelChoice {
  readonly backend: KernelBackendName;
  readonly gpujsMode: GpuJsMode;
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
 *    25–40 GFLOPS on one thread, where gpu.js reaches 1.4 in its best CPU mode and plain
 *    JavaScript 1.9.
 * 2. Where the machine has a GPU device and gpu.js finds a WebGPU adapter, gpu.js in webgpu mode
 *    is timed against wasm on the model's largest matmul at the engine's batch size, and the
 *    faster one is used.
 *
 * Without a GPU device no adapter is asked for, so a CPU-only server loads no GPU driver.
 */
export async function chooseKernels(model: ModelConfig, batchRows: number): Promise<KernelChoice> {
  if (!hasGpuDevice()) return { backend: 'wasm', gpujsMode: 'webasm', reason: 'no GPU device: WebAssembly SIMD is the fastest CPU backend' };
  if (!(await hasWebGpuAdapter())) return { backend: 'wasm', gpujsMode: 'webasm', reason: 'a GPU device but no WebGPU adapter: WebAssembly SIMD' };
  const { wasmMs, webgpuMs } = await timeLargestMatmul(model, batchRows);
  const times = `${wasmMs.toFixed(2)} ms on wasm, ${webgpuMs.toFixed(2)} ms on gpu.js webgpu per largest matmul`;
  return webgpuMs < wasmMs
    ? { backend: 'gpujs', gpujsMode: 'webgpu', reason: `WebGPU adapter faster: ${times}` }
    : { backend: 'wasm', gpujsMode: 'webasm', reason: `WebGPU adapter slower: ${times}` };
}

/** Refuses, with the reason, a backend chosen by name that cannot run on this machine. */
export async function checkKernelsAvailable(backend: KernelBackendName, gpujsMode: GpuJsMode): Promise<void> {
  if (backend !== 'gpujs' || gpujsMode !== 'webgpu') return;
  if (!(await provideNavigatorGpu())) throw new RangeError('gpu.js webgpu mode needs the optional "webgpu" package, which could not be loaded here');
  if (!(await hasWebGpuAdapter())) throw new RangeError('gpu.js webgpu mode needs a WebGPU adapter, and none answered here; use --kernels auto or wasm');
}

/** Milliseconds per call of the model's largest matmul at `n` rows, on wasm and on gpu.js webgpu. */
async function timeLargestMatmul(c: ModelConfig, n: number): Promise<{ wasmMs: number; webgpuMs: number }> {
  const rows = 2 * c.hiddenDim;
  const cols = c.dim;
  const w = new Float32Array(rows * cols).fill(0.01);
  const x = new Float32Array(n * cols).fill(0.5);
  const out = new Float32Array(n * rows);
  const time = async (backend: 'wasm' | 'gpujs') => {
    const kernels = backend === 'wasm' ? new WasmKernels({ maxContextLen: c.maxSeqLen }) : new GpuJsKernels({ mode: 'webgpu', maxContextLen: c.maxSeqLen });
    try {
      const m = kernels.loadMatrix(f32Tensor(w, rows, cols));
      await kernels.matmul(out, x, m, n); // compiles and uploads
      const start = performance.now();
      for (let i = 0; i < 3; i++) await kernels.matmul(out, x, m, n);
      return (performance.now() - start) / 3;
    } finally {
      kernels.dispose();
    }
  };
  return { wasmMs: await time('wasm'), webgpuMs: await time('gpujs') };
}
