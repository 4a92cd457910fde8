import { BYTE_VOCAB_SIZE } from '../tokenizer/byte-tokenizer.js';

/** Shapes of a Llama-architecture decoder. */
export interface ModelConfig {
  readonly dim: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** Grouped-query attention: numHeads / numKvHeads query heads share each key/value head. */
  readonly numKvHeads: number;
  /** Width of the SwiGLU feed-forward layer. */
  readonly hiddenDim: number;
  readonly vocabSize: number;
  /** Longest context the position embedding is meant for. */
  readonly maxSeqLen: number;
  readonly ropeTheta: number;
  readonly normEps: number;
}

/**
 * Built-in models with deterministic seeded weights ("dummy weights"): no files, no download.
 * `dummy-tiny` is for tests; `dummy` is the default; `dummy-large` is for benchmarks.
 * Odd widths in dummy-tiny keep every kernel honest about sizes that are not multiples of 4.
 */
export const MODEL_PRESETS = Object.freeze({
  'dummy-tiny': {
    dim: 64,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    hiddenDim: 174,
    vocabSize: BYTE_VOCAB_SIZE,
    maxSeqLen: 2048,
    ropeTheta: 10000,
    normEps: 1e-5,
  },
  dummy: {
    dim: 512,
    numLayers: 8,
    numHeads: 8,
    numKvHeads: 4,
    hiddenDim: 1536,
    vocabSize: BYTE_VOCAB_SIZE,
    maxSeqLen: 4096,
    ropeTheta: 10000,
    normEps: 1e-5,
  },
  'dummy-large': {
    dim: 1024,
    numLayers: 16,
    numHeads: 16,
    numKvHeads: 8,
    hiddenDim: 2816,
    vocabSize: BYTE_VOCAB_SIZE,
    maxSeqLen: 4096,
    ropeTheta: 500000,
    normEps: 1e-5,
  },
} satisfies Record<string, ModelConfig>);

export type PresetName = keyof typeof MODEL_PRESETS;

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(MODEL_PRESETS, name);
}

export function headDim(config: ModelConfig): number {
  return config.dim / config.numHeads;
}

/** Width of one token's keys (or values) in one layer. */
export function kvDim(config: ModelConfig): number {
  return config.numKvHeads * headDim(config);
}

export function validateModelConfig(c: ModelConfig): void {
  for (const [key, value] of Object.entries(c)) {
    if (typeof value !== 'number' || !(value > 0)) throw new RangeError(`model config ${key} must be a positive number`);
  }
  if (c.dim % c.numHeads !== 0) throw new RangeError('dim must be a multiple of numHeads');
  if (headDim(c) % 2 !== 0) throw new RangeError('head dimension must be even for rotary embeddings');
  if (c.numHeads % c.numKvHeads !== 0) throw new RangeError('numHeads must be a multiple of numKvHeads');
}

/** Number of weights, embedding and LM head included. */
export function parameterCount(c: ModelConfig): number {
  const hd = headDim(c);
  const perLayer = 2 * c.dim + c.dim * (c.numHeads + 2 * c.numKvHeads) * hd + c.numHeads * hd * c.dim + 3 * c.dim * c.hiddenDim;
  return 2 * c.vocabSize * c.dim + c.numLayers * perLayer + c.dim;
}
