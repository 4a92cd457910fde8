import { COMPUTED_TYPES, type GgmlType } from '../../tensors/tensor-types.js';
import { KERNEL_OPS, sharedBufferFor, type KernelBackend } from '../backend.js';
import { ReferenceKernels } from './reference-kernels.js';

/** Plain TypeScript in double precision, on the engine's thread: the oracle the others are measured against. */
export const REFERENCE_BACKEND: KernelBackend = {
  name: 'reference',
  unavailable: async () => null,
  // it dequantizes every type the table can to f32, and multiplies that
  supports: (type: GgmlType) => COMPUTED_TYPES.includes(type),
  ops: KERNEL_OPS,
  weights: 'buffer',
  memoryLimit: null,
  threading: 'single',
  modeSetting: null,
  modes: [],
  allocateWeights: sharedBufferFor,
  create: async (options) => new ReferenceKernels(options.maxContextLen),
};
