import { BYTE_VOCAB_SIZE } from '../tokenizer/byte-tokenizer.js';

/** The decoder architectures this server runs: Llama (2, 3.x, Mistral-style), Qwen 2 (q/k/v biases), Qwen 3 (q/k RMSNorm). */
export const ARCHITECTURES = ['llama', 'qwen2', 'qwen3'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** Shapes and options of a Llama-family decoder. */
export interface ModelConfig {
  readonly architecture: Architecture;
  readonly dim: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** Grouped-query attention: numHeads / numKvHeads query heads share each key/value head. */
  readonly numKvHeads: number;
  /** Width of one attention head; dim / numHeads unless the file says otherwise (Qwen 3). */
  readonly headDim: number;
  /** Width of the SwiGLU feed-forward layer. */
  readonly hiddenDim: number;
  /** Rows of the embedding and of the LM head. */
  readonly vocabSize: number;
  /** Longest context the model was trained for. */
  readonly maxSeqLen: number;
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

const builtIn = (dim: number, numLayers: number, numHeads: number, numKvHeads: number, hiddenDim: number, maxSeqLen: number, ropeTheta: number): ModelConfig => ({
  architecture: 'llama',
  dim,
  numLayers,
  numHeads,
  numKvHeads,
  headDim: dim / numHeads,
  hiddenDim,
  vocabSize: BYTE_VOCAB_SIZE,
  maxSeqLen,
  ropeTheta,
  ropeStyle: 'neox',
  ropeFreqScale: 1,
  normEps: 1e-5,
  qkvBias: false,
  qkNorm: false,
  tiedEmbeddings: false,
});

/**
 * Built-in models with deterministic seeded weights ("dummy weights"): no files, no download.
 * `dummy-tiny` is for tests; `dummy` is the default; `dummy-large` is for benchmarks.
 * Odd widths in dummy-tiny keep every kernel honest about sizes that are not multiples of 4.
 */
export const MODEL_PRESETS = Object.freeze({
  'dummy-tiny': builtIn(64, 2, 4, 2, 174, 2048, 10000),
  dummy: builtIn(512, 8, 8, 4, 1536, 4096, 10000),
  'dummy-large': builtIn(1024, 16, 16, 8, 2816, 4096, 500000),
} satisfies Record<string, ModelConfig>);

export type PresetName = keyof typeof MODEL_PRESETS;

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(MODEL_PRESETS, name);
}

/** Width of one token's keys (or values) in one layer. */
export function kvDim(config: ModelConfig): number {
  return config.numKvHeads * config.headDim;
}

/** Width of one token's queries (and of the attention output). */
export function qDim(config: ModelConfig): number {
  return config.numHeads * config.headDim;
}

export function validateModelConfig(c: ModelConfig): void {
  for (const key of ['dim', 'numLayers', 'numHeads', 'numKvHeads', 'headDim', 'hiddenDim', 'vocabSize', 'maxSeqLen', 'ropeTheta', 'ropeFreqScale', 'normEps'] as const) {
    if (typeof c[key] !== 'number' || !(c[key] > 0)) throw new RangeError(`model config ${key} must be a positive number, got ${c[key]}`);
  }
  if (c.headDim % 2 !== 0) throw new RangeError('head dimension must be even for rotary embeddings');
  if (c.numHeads % c.numKvHeads !== 0) throw new RangeError('numHeads must be a multiple of numKvHeads');
}

/** Number of weights, embedding and LM head included. */
export function parameterCount(c: ModelConfig): number {
  const q = qDim(c);
  const kv = kvDim(c);
  const perLayer = 2 * c.dim + c.dim * (q + 2 * kv) + q * c.dim + 3 * c.dim * c.hiddenDim + (c.qkvBias ? q + 2 * kv : 0) + (c.qkNorm ? 2 * c.headDim : 0);
  return (c.tiedEmbeddings ? 1 : 2) * c.vocabSize * c.dim + c.numLayers * perLayer + c.dim;
}
