import { COMPUTED_TYPES, type GgmlType } from '../../tensors/tensor-types.js';
import { KERNEL_OPS, sharedBufferFor, type KernelBackend } from '../backend.js';
import { loadNativeAddon } from './native-addon.js';
import { NativeKernels } from './native-kernels.js';

/** The SIMD paths of the native kernels, and `auto`: the best one the CPU has. */
export const NATIVE_ISAS = ['auto', 'avx512-vnni', 'avx2'] as const;
export type NativeIsa = (typeof NATIVE_ISAS)[number];

/** Why the native kernels cannot run `isa` here, or null. */
function nativeProblem(isa: string): string | null {
  const { addon, why } = loadNativeAddon();
  if (!addon) return why;
  const cpu = addon.cpu();
  if (cpu.best === 'none') return `this CPU has none of the native kernels' SIMD paths (they need AVX2, FMA and F16C; it has: ${cpu.features || 'none of them'})`;
  if (!(NATIVE_ISAS as readonly string[]).includes(isa)) return `the native kernels have no path ${isa}; paths: ${NATIVE_ISAS.join(', ')}`;
  if (isa !== 'auto' && !(cpu.paths as string[]).includes(isa)) return `this CPU cannot run the native ${isa} kernels (it has: ${cpu.features}); paths here: ${cpu.paths.join(', ')}`;
  return null;
}

/**
 * C++ kernels (kernels/native) through a Node-API addon built at install: AVX-512 VNNI or AVX2
 * chosen at run time, on threads of the addon's own. Weights of a model file stay where the
 * file is mapped, the same pages for every worker, and are repacked once per process into the
 * layout the kernels read; no 4 GiB limit applies, only the machine's memory.
 */
export const NATIVE_BACKEND: KernelBackend = {
  name: 'native',
  unavailable: async (mode = 'auto') => nativeProblem(mode),
  // the matmul kernels repack every type of the table this project computes with
  supports: (type: GgmlType) => COMPUTED_TYPES.includes(type),
  ops: KERNEL_OPS,
  weights: 'mapped-file',
  memoryLimit: null,
  threading: 'team',
  modeSetting: 'nativeIsa',
  modes: NATIVE_ISAS,
  resolveMode(mode) {
    const { addon } = loadNativeAddon();
    return mode === 'auto' && addon ? addon.cpu().best : mode;
  },
  allocateWeights: sharedBufferFor,
  mapFile(path) {
    const { addon, why } = loadNativeAddon();
    if (!addon) throw new Error(why ?? 'the native addon is not available');
    return addon.mapFile(path);
  },
  async create(options) {
    const { addon, why } = loadNativeAddon();
    if (!addon) throw new Error(why ?? 'the native addon is not available');
    const isa = options.mode && options.mode !== 'auto' ? options.mode : addon.cpu().best;
    return new NativeKernels(addon, { maxContextLen: options.maxContextLen, threads: options.threads, isa, weightsMapped: options.memory?.kind === 'mapped-file' });
  },
};
