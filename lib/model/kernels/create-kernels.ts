import { GpuJsKernels, type GpuJsMode } from './gpujs.js';
import type { Kernels } from './kernels.js';
import { ReferenceKernels } from './reference.js';
import { createWasmKernels } from './wasm.js';
import { provideNavigatorGpu } from './webgpu-setup.js';

/** Concrete kernel backends; `auto` (see choose-kernels.ts) resolves to one of these before an engine exists. */
export const KERNEL_BACKENDS = ['wasm', 'gpujs', 'reference'] as const;
export type KernelBackendName = (typeof KERNEL_BACKENDS)[number];
export const GPUJS_MODES: readonly GpuJsMode[] = ['webasm', 'cpu', 'webgpu'];

export interface KernelOptions {
  readonly backend: KernelBackendName;
  readonly gpujsMode: GpuJsMode;
  /** Longest context attention must cover (the engine's max model length). */
  readonly maxContextLen: number;
  /** For wasm: the shared memory that holds the weights. */
  readonly memory?: WebAssembly.Memory;
  /** For wasm: threads that share each matmul and attention (1: this thread alone). */
  readonly threads?: number;
}

/** Builds a backend's kernels in the calling thread (for gpu.js webgpu, after giving the thread navigator.gpu). */
export async function createKernels(options: KernelOptions): Promise<Kernels> {
  switch (options.backend) {
    case 'reference':
      return new ReferenceKernels(options.maxContextLen);
    case 'wasm':
      return createWasmKernels({ maxContextLen: options.maxContextLen, threads: options.threads ?? 1, ...(options.memory ? { memory: options.memory } : {}) });
    case 'gpujs':
      if (options.gpujsMode === 'webgpu') await provideNavigatorGpu();
      return new GpuJsKernels({ mode: options.gpujsMode, maxContextLen: options.maxContextLen });
  }
}
