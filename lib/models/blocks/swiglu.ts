import type { Kernels, ResidentMatrix } from '../../backends/kernels.js';

/** One layer's SwiGLU feed-forward weights, and the norm before it. */
export interface SwigluWeights {
  readonly norm: Float32Array; // [dim]
  readonly wGate: ResidentMatrix; // [hiddenDim, dim]
  readonly wUp: ResidentMatrix; // [hiddenDim, dim]
  readonly wDown: ResidentMatrix; // [dim, hiddenDim]
}

/** The activations the feed-forward works in, each for the largest batch. */
export interface SwigluBuffers {
  readonly xb: Float32Array; // [maxTokens, dim] the normalised input
  readonly gate: Float32Array; // [maxTokens, hiddenDim]
  readonly up: Float32Array; // [maxTokens, hiddenDim]
  readonly act: Float32Array; // [maxTokens, hiddenDim]
  readonly proj: Float32Array; // [maxTokens, dim] the output of wDown
}

/** A decoder layer's feed-forward, added to the residual stream x [n, dim]: RMSNorm → gate and up projections → silu(gate)·up → down → residual. */
export async function swigluBlock(K: Kernels, x: Float32Array, w: SwigluWeights, b: SwigluBuffers, n: number, dim: number, hiddenDim: number, normEps: number): Promise<void> {
  await K.rmsNorm(b.xb, x, w.norm, n, dim, normEps);
  await K.matmul(b.gate, b.xb, w.wGate, n);
  await K.matmul(b.up, b.xb, w.wUp, n);
  await K.siluMul(b.act, b.gate, b.up, n, hiddenDim);
  await K.matmul(b.proj, b.act, w.wDown, n);
  await K.addInPlace(x, b.proj, n * dim);
}
