import type { GgmlType } from '../tensors/tensor-types.js';
import type { Kernels } from './kernels.js';

/** The operations of the Kernels contract an architecture can require of a backend. */
export const KERNEL_OPS = ['embed', 'matmul', 'addBias', 'rmsNorm', 'rope', 'storeKv', 'attention', 'siluMul', 'addInPlace', 'softmax'] as const;
export type KernelOp = (typeof KERNEL_OPS)[number];

/**
 * Where a backend reads weights in place: the shared WebAssembly memory its kernels compute in,
 * a SharedArrayBuffer every worker maps, or the model file mapped into memory.
 */
export type WeightsPlacement = 'wasm-memory' | 'buffer' | 'mapped-file';

/**
 * The memory a backend reads weights from, allocated once and shared with every worker (it is
 * structured-cloneable: a worker gets the same memory, not a copy).
 */
export type WeightsMemory =
  | { readonly kind: 'buffer'; readonly buffer: SharedArrayBuffer; readonly byteOffset: number }
  | { readonly kind: 'wasm-memory'; readonly memory: WebAssembly.Memory; readonly byteOffset: number }
  // the model file itself, mapped by the backend in each thread that asks (the same pages)
  | { readonly kind: 'mapped-file'; readonly path: string; readonly byteOffset: number };

/** The bytes of a weights memory, in this thread; a mapped file is reached through the backend that mapped it. */
export function weightsBuffer(m: WeightsMemory, backend?: Pick<KernelBackend, 'mapFile'>): ArrayBufferLike {
  if (m.kind === 'buffer') return m.buffer;
  if (m.kind === 'wasm-memory') return m.memory.buffer;
  if (!backend?.mapFile) throw new RangeError(`the weights are in ${m.path}, mapped: only the backend that mapped it reaches them`);
  return backend.mapFile(m.path);
}

/** A SharedArrayBuffer for weights: what a backend that reads plain memory allocates. */
export function sharedBufferFor(bytes: number): WeightsMemory {
  return { kind: 'buffer', buffer: new SharedArrayBuffer(bytes), byteOffset: 0 };
}

/** How a backend spreads one engine's work: over a team of threads it starts, or on the engine's thread alone. */
export type Threading = 'team' | 'single';

/** What a backend's kernels are built from, in the thread that will call them. */
export interface KernelOptions {
  /** Longest context attention must cover (the engine's max model length). */
  readonly maxContextLen: number;
  /** Threads that share each kernel (1: the calling thread alone); only a team backend takes more. */
  readonly threads: number;
  /** The memory that holds the weights (as allocateWeights made it), for a backend that computes in it. */
  readonly memory?: WeightsMemory;
  /** A backend's own mode (gpu.js: webasm, cpu or webgpu). */
  readonly mode?: string;
}

/**
 * One kernel backend, as the rest of the engine sees it: what it can compute, where it wants the
 * weights, how large a model it can hold and how it threads, so that an engine is refused when it
 * is resolved (an unsupported tensor type, a missing op, a model over the memory limit), never in a
 * worker. Only backends/registry.ts knows the backends by name.
 */
export interface KernelBackend {
  readonly name: string;
  /** Why it cannot run here (with `mode`, when the backend has modes), or null. */
  unavailable(mode?: string): Promise<string | null>;
  /** Whether its matmul multiplies weights of `type` as they are. */
  supports(type: GgmlType): boolean;
  readonly ops: readonly KernelOp[];
  readonly weights: WeightsPlacement;
  /** The most bytes of weights, KV caches and buffers it can address, and how to say so; null: what the machine has. */
  readonly memoryLimit: { readonly bytes: number; readonly description: string } | null;
  readonly threading: Threading;
  /** Its modes, the first the default; empty for a backend without. */
  readonly modes: readonly string[];
  /** Memory for `bytes` of weights, where its kernels read them in place. */
  allocateWeights(bytes: number): WeightsMemory;
  /** For weights placed 'mapped-file': the whole file mapped into memory, the same pages in every thread. */
  mapFile?(path: string): ArrayBuffer;
  /** The engine setting that holds its mode, for a backend with modes. */
  readonly modeSetting: 'gpujsMode' | 'nativeIsa' | null;
  /** The mode it will run in for `mode` as asked ('auto' made concrete); the identity where there is nothing to resolve. */
  resolveMode?(mode: string): string;
  create(options: KernelOptions): Promise<Kernels>;
}
