import type { EngineConfig } from '../engine/engine-config.js';
import { SPECIAL_TOKENS } from '../tokenizer/byte-tokenizer.js';
import { createSharedMemory, RESERVED_BYTES } from './kernels/wasm-arena.js';
import { initDummyWeights, mapWeights, weightsByteLength, type ModelWeights } from './weights.js';

/**
 * How an engine reaches weights that were built once, by another thread or by itself: a
 * SharedArrayBuffer, or for the wasm kernels the shared WebAssembly memory they compute in.
 * Structured-cloneable, so it travels to workers without copying the weights.
 */
export type WeightsShare =
  | { readonly kind: 'buffer'; readonly buffer: SharedArrayBuffer }
  | { readonly kind: 'wasm-memory'; readonly memory: WebAssembly.Memory; readonly byteOffset: number };

/** Builds the weights a config names, once, where its kernel backend reads them. Built-in models are seeded. */
export function buildWeights(config: EngineConfig): WeightsShare {
  const share: WeightsShare =
    config.kernels === 'wasm'
      ? { kind: 'wasm-memory', memory: createSharedMemory(weightsByteLength(config.modelConfig)), byteOffset: RESERVED_BYTES }
      : { kind: 'buffer', buffer: new SharedArrayBuffer(weightsByteLength(config.modelConfig)) };
  initDummyWeights(attachWeights(config, share), config.seed, SPECIAL_TOKENS.eos);
  return share;
}

/** Views of shared weights, in this thread. */
export function attachWeights(config: EngineConfig, share: WeightsShare): ModelWeights {
  return share.kind === 'buffer' ? mapWeights(config.modelConfig, share.buffer) : mapWeights(config.modelConfig, share.memory.buffer, share.byteOffset);
}
