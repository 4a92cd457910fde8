import type { AttentionBatch, AttentionShape, Kernels, KvCache, ResidentMatrix, RopeSpec } from '../../backends/kernels.js';

/** One layer's attention weights: the norm before it, the projections, and the optional biases and per-head norms. */
export interface AttentionWeights {
  readonly norm: Float32Array; // [dim]
  readonly wq: ResidentMatrix; // [qDim, dim]
  readonly wk: ResidentMatrix; // [kvDim, dim]
  readonly wv: ResidentMatrix; // [kvDim, dim]
  readonly bq: Float32Array | null; // [qDim] (Qwen 2)
  readonly bk: Float32Array | null; // [kvDim]
  readonly bv: Float32Array | null; // [kvDim]
  readonly qNorm: Float32Array | null; // [headDim] (Qwen 3)
  readonly kNorm: Float32Array | null; // [headDim]
  readonly wo: ResidentMatrix; // [dim, qDim]
}

/** The activations attention works in, each for the largest batch; a step uses a prefix. */
export interface AttentionBuffers {
  readonly xb: Float32Array; // [maxTokens, dim] the normalised input
  readonly q: Float32Array; // [maxTokens, qDim]
  readonly k: Float32Array; // [maxTokens, kvDim]
  readonly v: Float32Array; // [maxTokens, kvDim]
  readonly attn: Float32Array; // [maxTokens, qDim]
  readonly proj: Float32Array; // [maxTokens, dim] the output of wo
}

/** The sizes attention is computed with. */
export interface AttentionSpec {
  readonly dim: number;
  readonly normEps: number;
  readonly shape: AttentionShape;
  readonly rope: RopeSpec;
}

/**
 * A decoder layer's attention, added to the residual stream x [n, dim]: RMSNorm → q, k, v
 * projections (+ biases, + per-head norms) → RoPE → the layer's keys and values into the cache →
 * causal attention over the paged cache → wo → residual.
 */
export async function attentionBlock(K: Kernels, x: Float32Array, w: AttentionWeights, b: AttentionBuffers, spec: AttentionSpec, cache: KvCache, layer: number, batch: AttentionBatch): Promise<void> {
  const n = batch.numTokens;
  const { numHeads, numKvHeads, headDim } = spec.shape;
  const qDim = numHeads * headDim;
  const kvDim = numKvHeads * headDim;
  await K.rmsNorm(b.xb, x, w.norm, n, spec.dim, spec.normEps);
  await K.matmul(b.q, b.xb, w.wq, n);
  await K.matmul(b.k, b.xb, w.wk, n);
  await K.matmul(b.v, b.xb, w.wv, n);
  if (w.bq && w.bk && w.bv) {
    await K.addBias(b.q, w.bq, n, qDim);
    await K.addBias(b.k, w.bk, n, kvDim);
    await K.addBias(b.v, w.bv, n, kvDim);
  }
  if (w.qNorm && w.kNorm) {
    await K.rmsNorm(b.q, b.q, w.qNorm, n * numHeads, headDim, spec.normEps);
    await K.rmsNorm(b.k, b.k, w.kNorm, n * numKvHeads, headDim, spec.normEps);
  }
  await K.rope(b.q, batch.positions, n, numHeads, spec.rope);
  await K.rope(b.k, batch.positions, n, numKvHeads, spec.rope);
  await K.storeKv(cache, layer, b.k, b.v, batch.slotMapping, n);
  await K.attention(b.attn, b.q, cache, layer, batch, spec.shape);
  await K.matmul(b.proj, b.attn, w.wo, n);
  await K.addInPlace(x, b.proj, n * spec.dim);
}
