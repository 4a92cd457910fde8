import type { IKernelFunctionThis } from 'gpu.js';

/* gpu.js compiles each kernel from its source text, so kernels are plain functions that read only
 * their arguments, `this.thread` and `this.constants`, and give every loop variable its own name. */

type Consts<T> = IKernelFunctionThis<T>;

/** out[r] = x · w[r], one row of x per call. */
export function matmulKernel(this: Consts<{ cols: number; w: Float32Array }>, x: Float32Array): number {
  const row = this.thread.x * this.constants.cols;
  let sum = 0;
  for (let c = 0; c < this.constants.cols; c++) sum += x[c] * this.constants.w[row + c];
  return sum;
}

export function sumOfSquaresKernel(this: Consts<{ dim: number }>, x: Float32Array): number {
  const base = this.thread.x * this.constants.dim;
  let ss = 0;
  for (let i = 0; i < this.constants.dim; i++) ss += x[base + i] * x[base + i];
  return ss;
}

export function rmsScaleKernel(this: Consts<{ dim: number; eps: number }>, x: Float32Array, ss: Float32Array, weight: Float32Array): number {
  const scale = 1 / Math.sqrt(ss[this.thread.y] / this.constants.dim + this.constants.eps);
  return x[this.thread.y * this.constants.dim + this.thread.x] * scale * weight[this.thread.x];
}

type AttentionConsts = Consts<{ numHeads: number; headDim: number; kvDim: number; group: number; width: number }>;

/*
 * Attention reads a compact copy of the tile's contexts: region r holds `width` positions of one
 * sequence, gathered from the paged cache through its block table (see GpuJsKernels.attention).
 */

/** scores[t · numHeads + h][p] = q[t, h] · k[p] / √headDim for every p ≤ positions[t], else 0. */
export function attentionScoresKernel(this: AttentionConsts, q: Float32Array, keys: Float32Array, positions: Float32Array, region: Float32Array): number {
  const t = Math.floor(this.thread.y / this.constants.numHeads);
  const h = this.thread.y - t * this.constants.numHeads;
  const p = this.thread.x;
  if (p > positions[t]) return 0;
  const kBase = (region[t] * this.constants.width + p) * this.constants.kvDim + Math.floor(h / this.constants.group) * this.constants.headDim;
  const qBase = this.thread.y * this.constants.headDim;
  let dot = 0;
  for (let i = 0; i < this.constants.headDim; i++) dot += q[qBase + i] * keys[kBase + i];
  return dot / Math.sqrt(this.constants.headDim);
}

/**
 * out[t, h · headDim + d] = Σ_p w[p] · v[p, d] over p ≤ positions[t], w = softmax(scores[t, h])
 * rounded to f16 as llama.cpp rounds it before multiplying the f16 values (round half up: ties
 * to even, as the hardware does, differ only on exact ties).
 */
export function attentionValuesKernel(this: AttentionConsts, scores: Float32Array[], values: Float32Array, positions: Float32Array, region: Float32Array): number {
  const t = this.thread.y;
  const h = Math.floor(this.thread.x / this.constants.headDim);
  const d = this.thread.x - h * this.constants.headDim;
  const row = t * this.constants.numHeads + h;
  const last = positions[t];
  let max = -3.0e38;
  for (let p1 = 0; p1 <= last; p1++) max = Math.max(max, scores[row][p1]);
  let denom = 0;
  for (let p2 = 0; p2 <= last; p2++) denom += Math.exp(scores[row][p2] - max);
  let acc = 0;
  const vBase = region[t] * this.constants.width * this.constants.kvDim + Math.floor(h / this.constants.group) * this.constants.headDim + d;
  for (let p3 = 0; p3 <= last; p3++) {
    const w = Math.exp(scores[row][p3] - max) / denom;
    // f16 keeps 11 significant bits; below 2^-14 it counts in steps of 2^-24
    const ulp = Math.pow(2, Math.max(Math.floor(Math.log2(w)), -14) - 10);
    acc += Math.round(w / ulp) * ulp * values[vBase + p3 * this.constants.kvDim];
  }
  return acc;
}

export function siluMulKernel(this: Consts<{ hidden: number }>, gate: Float32Array, up: Float32Array): number {
  const i = this.thread.y * this.constants.hidden + this.thread.x;
  const g = gate[i];
  return (g / (1 + Math.exp(-g))) * up[i];
}

export function softmaxKernel(this: Consts<{ vocab: number }>, logits: Float32Array, invTemperature: Float32Array): number {
  const base = this.thread.y * this.constants.vocab;
  const k = invTemperature[this.thread.y];
  let max = -3.0e38;
  for (let i = 0; i < this.constants.vocab; i++) max = Math.max(max, logits[base + i] * k);
  let sum = 0;
  for (let j = 0; j < this.constants.vocab; j++) sum += Math.exp(logits[base + j] * k - max);
  return Math.exp(logits[base + this.thread.x] * k - max) / sum;
}
