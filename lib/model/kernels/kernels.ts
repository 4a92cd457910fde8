/**
 * The operations a forward pass is made of. Every implementation computes the same function as
 * the reference backend within the tolerance stated in the tests (KERNEL_TOLERANCE); buffers are
 * row-major, outputs come first, and `n` is the number of rows (tokens) in the batch.
 * A call may finish synchronously or return a promise; callers always await it.
 */
export type KernelResult = void | Promise<void>;

/** A weight matrix [rows, cols] made resident in the backend once, at load time. */
export interface ResidentMatrix {
  readonly rows: number;
  readonly cols: number;
}

/** Per-layer key and value storage: [numSlots, kvDim] each, slot = block · blockSize + offset. */
export interface KvCache {
  readonly numLayers: number;
  readonly numSlots: number;
  readonly kvDim: number;
  readonly keys: readonly Float32Array[];
  readonly values: readonly Float32Array[];
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

export interface Kernels {
  readonly name: string;

  /**
   * Buffers the kernels will read and write, allocated once by the model: a backend may place
   * them in its own memory, where its kernels reach them without copying.
   */
  allocateFloat32(length: number): Float32Array;
  allocateInt32(length: number): Int32Array;

  /** Makes w [rows, cols] resident so that later matmuls do not copy it. */
  loadMatrix(w: Float32Array, rows: number, cols: number): ResidentMatrix;

  /** Allocates the KV cache where this backend's attention reads it. */
  createKvCache(numLayers: number, numSlots: number, kvDim: number): KvCache;

  /** out[n, w.rows] = x[n, w.cols] · wᵀ */
  matmul(out: Float32Array, x: Float32Array, w: ResidentMatrix, n: number): KernelResult;

  /** out[n, dim] = x / √(mean(x²) + eps) · weight[dim] */
  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, n: number, dim: number, eps: number): KernelResult;

  /**
   * Rotary position embedding in place on x[n, numHeads · headDim], "rotate half" pairing
   * (i, i + headDim/2) with angle position · theta^(−2i / headDim).
   */
  rope(x: Float32Array, positions: Int32Array, n: number, numHeads: number, headDim: number, theta: number): KernelResult;

  /** cache.keys[layer][slot] = k[t], cache.values[layer][slot] = v[t] for slot = slotMapping[t]. */
  storeKv(cache: KvCache, layer: number, k: Float32Array, v: Float32Array, slotMapping: Int32Array, n: number): KernelResult;

  /**
   * Causal grouped-query attention over the paged cache: each token t attends to positions
   * 0..positions[t] of its own sequence, read through that sequence's block table.
   * out[n, numHeads · headDim], q[n, numHeads · headDim].
   */
  attention(out: Float32Array, q: Float32Array, cache: KvCache, layer: number, batch: AttentionBatch, shape: AttentionShape): KernelResult;

  /** out[n, hidden] = silu(gateUp[:, :hidden]) · gateUp[:, hidden:], gateUp[n, 2·hidden] */
  siluMul(out: Float32Array, gateUp: Float32Array, n: number, hidden: number): KernelResult;

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
    keys: Array.from({ length: numLayers }, () => new Float32Array(numSlots * kvDim)),
    values: Array.from({ length: numLayers }, () => new Float32Array(numSlots * kvDim)),
  };
}
