import type { EngineConfig } from '../engine/engine-config.js';
import { SPECIAL_TOKENS } from '../tokenizer/byte-tokenizer.js';
import { initDummyWeights, mapWeights, type ModelWeights } from './weights.js';

/** Builds the weights an engine config names, in shared memory. Built-in models are seeded. */
export function loadWeights(config: EngineConfig): ModelWeights {
  const weights = mapWeights(config.modelConfig);
  initDummyWeights(weights, config.seed, SPECIAL_TOKENS.eos);
  return weights;
}
