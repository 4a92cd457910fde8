import type { GgmlType } from '../../tensors/tensor-types.js';
import { KERNEL_OPS, type KernelBackend } from '../backend.js';
import { createSharedMemory, MAX_PAGES, RESERVED_BYTES } from './wasm-arena.js';
import { WASM_MATMULS } from './team-kernels.js';
import { createWasmKernels } from './wasm-kernels.js';

/** Hand-written WebAssembly SIMD kernels in one shared memory, on a team of threads. */
export const WASM_BACKEND: KernelBackend = {
  name: 'wasm',
  unavailable: async () => null,
  supports: (type: GgmlType) => WASM_MATMULS.has(type),
  ops: KERNEL_OPS,
  weights: 'wasm-memory',
  // a 32-bit WebAssembly memory: weights, every replica's KV cache and buffers, in 4 GiB (less the module's own start)
  memoryLimit: { bytes: MAX_PAGES * 65536 - RESERVED_BYTES, description: 'the 4.00 GiB a WebAssembly memory can hold' },
  threading: 'team',
  modeSetting: null,
  modes: [],
  allocateWeights: (bytes) => ({ kind: 'wasm-memory', memory: createSharedMemory(bytes), byteOffset: RESERVED_BYTES }),
  create: (options) => createWasmKernels({ maxContextLen: options.maxContextLen, threads: options.threads, ...(options.memory?.kind === 'wasm-memory' ? { memory: options.memory.memory } : {}) }),
};
