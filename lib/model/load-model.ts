import { SPECIAL_TOKENS } from '../tokenizer/byte-tokenizer.js';
import { createSharedMemory, RESERVED_BYTES } from './kernels/wasm-arena.js';
import type { ModelConfig } from './model-config.js';
import { initDummyWeights, mapWeights, weightsByteLength, type ModelWeights } from './weights.js';

/**
 * How an engine reaches weights that were built once, by another thread or by itself: a
 * SharedArrayBuffer, or for the wasm kernels the shared WebAssembly memory they compute in.
 * Structured-cloneable, so it travels to workers without copying the weights.
 */
export type WeightsShare =
  | { readonly kind: 'buffer'; readonly buffer: SharedArrayBuffer }
  | { readonly kind: 'wasm-memory'; readonly memory: WebAssembly.Memory; readonly byteOffset: number };

/** Where weights must live for a backend to read them in place. */
export type WeightsPlacement = WeightsShare['kind'];

/** Builds a built-in model's seeded weights once, where its kernel backend reads them. */
export function buildWeights(modelConfig: ModelConfig, placement: WeightsPlacement, seed: number): WeightsShare {
  const share: WeightsShare =
    placement === 'wasm-memory'
      ? { kind: 'wasm-memory', memory: createSharedMemory(weightsByteLength(modelConfig)), byteOffset: RESERVED_BYTES }
      : { kind: 'buffer', buffer: new SharedArrayBuffer(weightsByteLength(modelConfig)) };
  initDummyWeights(attachWeights(modelConfig, share), seed, SPECIAL_TOKENS.eos);
  return share;
}

/** Views of shared weights, in this thread. */
export function attachWeights(modelConfig: ModelConfig, share: WeightsShare): ModelWeights {
  return share.kind === 'buffer' ? mapWeights(modelConfig, share.buffer) : mapWeights(modelConfig, share.memory.buffer, share.byteOffset);
}
