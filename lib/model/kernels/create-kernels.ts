import { GpuJsKernels, type GpuJsMode } from './gpujs.js';
import type { Kernels } from './kernels.js';
import { ReferenceKernels } from './reference.js';
import { WasmKernels } from './wasm.js';

/** Concrete kernel backends; `auto` (see choose-kernels.ts) resolves to one of these. */
export const KERNEL_BACKENDS = ['wasm', 'gpujs', 'reference'] as const;
export type KernelBackendName = (typeof KERNEL_BACKENDS)[number];
export const GPUJS_MODES: readonly GpuJsMode[] = ['webasm', 'cpu', 'webgpu'];

export interface KernelOptions {
  readonly backend: KernelBackendName | 'auto';
  readonly gpujsMode: GpuJsMode;
  /** Longest context attention must cover (the engine's max model length). */
  readonly maxContextLen: number;
  /** For wasm: the shared memory that holds the weights. */
  readonly memory?: WebAssembly.Memory;
}

export function createKernels(options: KernelOptions): Kernels {
  switch (options.backend) {
    case 'auto':
      throw new RangeError('kernels "auto" must be resolved (resolveKernels) before an engine is built');
    case 'reference':
      return new ReferenceKernels();
    case 'wasm':
      return new WasmKernels({ maxContextLen: options.maxContextLen, ...(options.memory ? { memory: options.memory } : {}) });
    case 'gpujs':
      return new GpuJsKernels({ mode: options.gpujsMode, maxContextLen: options.maxContextLen });
  }
}
