import { BYTE_VOCAB_SIZE } from '../tokenizer/byte-tokenizer.js';
import type { LlamaConfig } from './llama/llama-config.js';

const builtIn = (dim: number, numLayers: number, numHeads: number, numKvHeads: number, hiddenDim: number, maxSeqLen: number, ropeTheta: number): LlamaConfig => ({
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
} satisfies Record<string, LlamaConfig>);

export type PresetName = keyof typeof MODEL_PRESETS;

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(MODEL_PRESETS, name);
}

