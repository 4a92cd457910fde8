import { existsSync, readdirSync } from 'node:fs';
import type { GpuJsMode } from './gpujs.js';
import type { KernelBackendName } from './create-kernels.js';
import { hasWebGpuAdapter } from './webgpu-setup.js';

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
 *    faster one is used (`timeWebGpu` does the timing).
 *
 * Without a GPU device no adapter is asked for, so a CPU-only server loads no GPU driver.
 */
export async function chooseKernels(timeWebGpu: () => Promise<{ wasmMs: number; webgpuMs: number }>): Promise<KernelChoice> {
  if (!hasGpuDevice()) return { backend: 'wasm', gpujsMode: 'webasm', reason: 'no GPU device: WebAssembly SIMD is the fastest CPU backend' };
  if (!(await hasWebGpuAdapter())) return { backend: 'wasm', gpujsMode: 'webasm', reason: 'a GPU device but no WebGPU adapter: WebAssembly SIMD' };
  const { wasmMs, webgpuMs } = await timeWebGpu();
  const times = `${wasmMs.toFixed(2)} ms on wasm, ${webgpuMs.toFixed(2)} ms on gpu.js webgpu per largest matmul`;
  return webgpuMs < wasmMs
    ? { backend: 'gpujs', gpujsMode: 'webgpu', reason: `WebGPU adapter faster: ${times}` }
    : { backend: 'wasm', gpujsMode: 'webasm', reason: `WebGPU adapter slower: ${times}` };
}
