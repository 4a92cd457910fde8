
import type { ModelConfig } from '../model.js';

/** The variants of the Llama family: Llama (2, 3.x, Mistral-style), Qwen 2 (q/k/v biases), Qwen 3 (q/k RMSNorm). */
export const LLAMA_VARIANTS = ['llama', 'qwen2', 'qwen3'] as const;
export type LlamaVariant = (typeof LLAMA_VARIANTS)[number];

/** Shapes and options of a Llama-family decoder. */
export interface LlamaConfig extends ModelConfig {
  readonly architecture: LlamaVariant;
  readonly dim: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** Grouped-query attention: numHeads / numKvHeads query heads share each key/value head. */
  readonly numKvHeads: number;
  /** Width of one attention head; dim / numHeads unless the file says otherwise (Qwen 3). */
  readonly headDim: number;
  /** Width of the SwiGLU feed-forward layer. */
  readonly hiddenDim: number;
  readonly ropeTheta: number;
  /** `normal` rotates adjacent pairs (llama.cpp's Llama files), `neox` the two halves of a head. */
  readonly ropeStyle: 'normal' | 'neox';
  /** Linear RoPE scaling: positions are multiplied by this (1 / factor). */
  readonly ropeFreqScale: number;
  readonly normEps: number;
  /** Biases on the q, k and v projections (Qwen 2). */
  readonly qkvBias: boolean;
  /** RMSNorm on each head of q and k before RoPE (Qwen 3). */
  readonly qkNorm: boolean;
  /** The LM head is the token embedding (no output.weight). */
  readonly tiedEmbeddings: boolean;
}

/** Width of one token's keys (or values) in one layer. */
export function kvDim(config: LlamaConfig): number {
  return config.numKvHeads * config.headDim;
}

/** Width of one token's queries (and of the attention output). */
export function qDim(config: LlamaConfig): number {
  return config.numHeads * config.headDim;
}

export function validateLlamaConfig(c: LlamaConfig): void {
  for (const key of ['dim', 'numLayers', 'numHeads', 'numKvHeads', 'headDim', 'hiddenDim', 'vocabSize', 'maxSeqLen', 'ropeTheta', 'ropeFreqScale', 'normEps'] as const) {
    if (typeof c[key] !== 'number' || !(c[key] > 0)) throw new RangeError(`model config ${key} must be a positive number, got ${c[key]}`);
  }
  if (c.headDim % 2 !== 0) throw new RangeError('head dimension must be even for rotary embeddings');
  if (c.numHeads % c.numKvHeads !== 0) throw new RangeError('numHeads must be a multiple of numKvHeads');
}

/** Number of weights, embedding and LM head included. */
export function parameterCount(c: LlamaConfig): number {
  const q = qDim(c);
  const kv = kvDim(c);
  const perLayer = 2 * c.dim + c.dim * (q + 2 * kv) + q * c.dim + 3 * c.dim * c.hiddenDim + (c.qkvBias ? q + 2 * kv : 0) + (c.qkNorm ? 2 * c.headDim : 0);
  return (c.tiedEmbeddings ? 1 : 2) * c.vocabSize * c.dim + c.numLayers * perLayer + c.dim;
}
