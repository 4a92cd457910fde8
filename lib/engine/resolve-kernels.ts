import { chooseKernels } from '../model/kernels/choose-kernels.js';
import { GpuJsKernels } from '../model/kernels/gpujs.js';
import { hasWebGpuAdapter, provideNavigatorGpu } from '../model/kernels/webgpu-setup.js';
import { WasmKernels } from '../model/kernels/wasm.js';
import type { EngineConfig } from './engine-config.js';

/**
 * Turns `kernels: 'auto'` into a concrete backend (see choose-kernels.ts), and makes sure a
 * gpu.js webgpu choice can run here. Returns the config unchanged otherwise, with the reason.
 */
export async function resolveKernels(config: EngineConfig): Promise<{ config: EngineConfig; reason: string }> {
  if (config.kernels === 'auto') {
    const choice = await chooseKernels(() => timeLargestMatmul(config));
    return { config: { ...config, kernels: choice.backend, gpujsMode: choice.gpujsMode }, reason: choice.reason };
  }
  if (config.kernels === 'gpujs' && config.gpujsMode === 'webgpu') {
    if (!(await provideNavigatorGpu())) throw new RangeError('gpu.js webgpu mode needs the optional "webgpu" package, which could not be loaded here');
    if (!(await hasWebGpuAdapter())) throw new RangeError('gpu.js webgpu mode needs a WebGPU adapter, and none answered here; use --kernels auto or wasm');
  }
  return { config, reason: 'chosen explicitly' };
}

/** Milliseconds per call of the model's largest matmul at the engine's batch size, on wasm and on gpu.js webgpu. */
async function timeLargestMatmul(config: EngineConfig): Promise<{ wasmMs: number; webgpuMs: number }> {
  const c = config.modelConfig;
  const rows = 2 * c.hiddenDim;
  const cols = c.dim;
  const n = config.maxNumSeqs;
  const w = new Float32Array(rows * cols).fill(0.01);
  const x = new Float32Array(n * cols).fill(0.5);
  const out = new Float32Array(n * rows);
  const time = async (backend: 'wasm' | 'gpujs') => {
    const kernels = backend === 'wasm' ? new WasmKernels({ maxContextLen: c.maxSeqLen }) : new GpuJsKernels({ mode: 'webgpu', maxContextLen: c.maxSeqLen });
    try {
      const m = kernels.loadMatrix(w, rows, cols);
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
