import { GpuJsKernels, type GpuJsMode } from './gpujs.js';
import type { Kernels } from './kernels.js';
import { ReferenceKernels } from './reference.js';

export const KERNEL_BACKENDS = ['gpujs', 'reference'] as const;
export type KernelBackendName = (typeof KERNEL_BACKENDS)[number];
export const GPUJS_MODES: readonly GpuJsMode[] = ['webasm', 'cpu'];

export interface KernelOptions {
  readonly backend: KernelBackendName;
  readonly gpujsMode: GpuJsMode;
  /** Longest context attention must cover (the engine's max model length). */
  readonly maxContextLen: number;
}

export function createKernels(options: KernelOptions): Kernels {
  switch (options.backend) {
    case 'reference':
      return new ReferenceKernels();
    case 'gpujs':
      return new GpuJsKernels({ mode: options.gpujsMode, maxContextLen: options.maxContextLen });
  }
}
