import { COMPUTED_TYPES, type GgmlType } from '../../tensors/tensor-types.js';
import { KERNEL_OPS, sharedBufferFor, type KernelBackend } from '../backend.js';
import { GpuJsKernels, type GpuJsMode } from './gpujs-kernels.js';
import { hasWebGpuAdapter, provideNavigatorGpu } from './webgpu-setup.js';

export const GPUJS_MODES: readonly GpuJsMode[] = ['webasm', 'cpu', 'webgpu'];

/** gpu.js kernels: webasm or cpu mode on a CPU, webgpu where an adapter exists (the optional webgpu package). */
export const GPUJS_BACKEND: KernelBackend = {
  name: 'gpujs',
  async unavailable(mode = 'webasm') {
    if (!(GPUJS_MODES as readonly string[]).includes(mode)) return `gpu.js has no mode ${mode}; modes: ${GPUJS_MODES.join(', ')}`;
    if (mode !== 'webgpu') return null;
    if (!(await provideNavigatorGpu())) return 'gpu.js webgpu mode needs the optional "webgpu" package, which could not be loaded here';
    if (!(await hasWebGpuAdapter())) return 'gpu.js webgpu mode needs a WebGPU adapter, and none answered here; use --kernels auto or wasm';
    return null;
  },
  // weights are dequantized to f32 when they are uploaded into its kernels
  supports: (type: GgmlType) => COMPUTED_TYPES.includes(type),
  ops: KERNEL_OPS,
  weights: 'buffer',
  memoryLimit: null,
  threading: 'single',
  modeSetting: 'gpujsMode',
  modes: GPUJS_MODES,
  allocateWeights: sharedBufferFor,
  async create(options) {
    const mode = (options.mode ?? 'webasm') as GpuJsMode;
    if (mode === 'webgpu') await provideNavigatorGpu();
    return new GpuJsKernels({ mode, maxContextLen: options.maxContextLen });
  },
};
