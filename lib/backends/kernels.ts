import type { GgmlType } from '../tensors/tensor-types.js';
import type { WeightTensor } from '../tensors/weights.js';

/**
 * The operations a forward pass is made of. Every implementation computes the same function as
 * the reference backend within the tolerance stated in the tests (KERNEL_TOLERANCE); buffers are
 * row-major, outputs come first, and `n` is the number of rows (tokens) in the batch.
 * A call may finish synchronously or return a promise; callers always await it.
 *
 * Numerics follow llama.cpp's CPU backend, so that a model gives llama.cpp's tokens:
 * - a matmul first converts its activations to the weights' "dot type": rounded to f16 for F16
 *   weights, to bfloat16 for BF16, quantized to Q8_0 blocks for Q8_0; F32 weights take them as
 *   they are;
 * - the KV cache holds f16; attention rounds q to f16 before q·k, and the softmax weights to f16
 *   before they weigh v (ggml's mul_mat with f16 operands).
 */
export type KernelResult = void | Promise<void>;

/** A weight matrix made resident in the backend once, at load time. */
export interface ResidentMatrix {
  readonly type: GgmlType;
  readonly rows: number;
  readonly cols: number;
}

/** Per-layer key and value storage, f16 bits: [numSlots, kvDim] each, slot = block · blockSize + offset. */
export interface KvCache {
  readonly numLayers: number;
  readonly numSlots: number;
  readonly kvDim: number;
  readonly keys: readonly Uint16Array[];
  readonly values: readonly Uint16Array[];
}

/** Where each token of a batch sits, for writing its KV and for attending over its context. */
export interface AttentionBatch {
  readonly numTokens: number;
  readonly positions: Int32Array; // [numTokens]: position of each token in its sequence
  readonly slotMapping: Int32Array; // [numTokens]: KV slot each token's keys and values go to
  readonly tokenSeq: Int32Array; // [numTokens]: row of the token's sequence in blockTables
  readonly blockTables: Int32Array; // [numSeqs, maxBlocksPerSeq]: KV block ids per sequence
}

export interface AttentionShape {
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly blockSize: number;
  readonly maxBlocksPerSeq: number;
}

/**
 * Rotary position embedding of one model. `normal` rotates adjacent pairs (2i, 2i+1), as
 * llama.cpp does for Llama files (whose converter permutes q and k to match); `neox` rotates
 * (i, i + headDim/2), as for Qwen and the built-in models. Pair i turns by
 * freqScale · position · theta^(−2i/headDim) / freqFactors[i].
 */
export interface RopeSpec {
  readonly headDim: number;
  readonly theta: number;
  readonly style: 'normal' | 'neox';
  readonly freqScale: number;
  /** Llama 3's per-pair divisors (the rope_freqs tensor), or null. */
  readonly freqFactors: Float32Array | null; // [headDim / 2]
}

export interface Kernels {
  readonly name: string;

  /**
   * Buffers the kernels will read and write, allocated once by the model: a backend may place
   * them in its own memory, where its kernels reach them without copying.
   */
  allocateFloat32(length: number): Float32Array;
  allocateInt32(length: number): Int32Array;

  /** Makes `w` resident so that later matmuls do not copy it. */
  loadMatrix(w: WeightTensor): ResidentMatrix;

  /** Allocates the KV cache where this backend's attention reads it. */
  createKvCache(numLayers: number, numSlots: number, kvDim: number): KvCache;

  /** out[t] = table[tokenIds[t]] as f32: rows of the embedding, dequantized. out[n, table.cols] */
  embed(out: Float32Array, tokenIds: Int32Array, table: ResidentMatrix, n: number): KernelResult;

  /** out[n, w.rows] = x[n, w.cols] · wᵀ, with x converted to the weights' dot type first */
  matmul(out: Float32Array, x: Float32Array, w: ResidentMatrix, n: number): KernelResult;

  /** x[t] += bias for each of n rows; x[n, width] */
  addBias(x: Float32Array, bias: Float32Array, n: number, width: number): KernelResult;

  /** out[n, dim] = x / √(mean(x²) + eps) · weight[dim] */
  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, n: number, dim: number, eps: number): KernelResult;

  /** Rotary embedding in place on x[n, numHeads · rope.headDim]. */
  rope(x: Float32Array, positions: Int32Array, n: number, numHeads: number, rope: RopeSpec): KernelResult;

  /** cache.keys[layer][slot] = f16(k[t]), cache.values[layer][slot] = f16(v[t]) for slot = slotMapping[t]. */
  storeKv(cache: KvCache, layer: number, k: Float32Array, v: Float32Array, slotMapping: Int32Array, n: number): KernelResult;

  /**
   * Causal grouped-query attention over the paged cache: each token t attends to positions
   * 0..positions[t] of its own sequence, read through that sequence's block table.
   * out[n, numHeads · headDim], q[n, numHeads · headDim].
   */
  attention(out: Float32Array, q: Float32Array, cache: KvCache, layer: number, batch: AttentionBatch, shape: AttentionShape): KernelResult;

  /** out[n, hidden] = silu(gate) · up; gate, up [n, hidden] */
  siluMul(out: Float32Array, gate: Float32Array, up: Float32Array, n: number, hidden: number): KernelResult;

  /** x[length] += y[length] */
  addInPlace(x: Float32Array, y: Float32Array, length: number): KernelResult;

  /** out[n, vocab] = softmax(logits[n, vocab] · invTemperature[row]), for sampling. */
  softmax(out: Float32Array, logits: Float32Array, invTemperature: Float32Array, n: number, vocab: number): KernelResult;

  /** Releases whatever the backend holds (compiled kernels, worker threads, memory). */
  dispose(): void;
}

/**
 * Largest difference from the reference that any backend may show, relative to the magnitude
 * of the values compared: |a − b| ≤ atol + rtol · |b|. f32 accumulation in a different order
 * explains differences of order 1e-6; these bounds leave a margin and still catch wrong indexing
 * or a truncated loop, which produce errors of order one.
 */
export const KERNEL_TOLERANCE = Object.freeze({ atol: 1e-4, rtol: 1e-3 });

/** Plain typed-array KV cache, for backends whose kernels read JavaScript memory. */
export function createArrayKvCache(numLayers: number, numSlots: number, kvDim: number): KvCache {
  return {
    numLayers,
    numSlots,
    kvDim,
    keys: Array.from({ length: numLayers }, () => new Uint16Array(numSlots * kvDim)),
    values: Array.from({ length: numLayers }, () => new Uint16Array(numSlots * kvDim)),
  };
}
