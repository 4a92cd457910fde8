import { SPECIAL_TOKENS } from '../tokenizer/byte-tokenizer.js';
import { readTensorData, type GgufFile } from './formats/gguf.js';
import { createSharedMemory, RESERVED_BYTES } from './kernels/wasm-arena.js';
import type { ModelConfig } from './model-config.js';
import { builtInLayout, initDummyWeights, layoutBytes, mapWeights, type ModelWeights, type TensorLayout } from './weights.js';

/**
 * How an engine reaches weights that were loaded once, by another thread or by itself: a
 * SharedArrayBuffer, or for the wasm kernels the shared WebAssembly memory they compute in, with
 * where each tensor lies in it. Structured-cloneable, so it travels to workers without copying
 * the weights.
 */
export type WeightsShare = ({ readonly kind: 'buffer'; readonly buffer: SharedArrayBuffer } | { readonly kind: 'wasm-memory'; readonly memory: WebAssembly.Memory }) & {
  readonly byteOffset: number;
  readonly tensors: readonly TensorLayout[];
};

/** Where weights must live for a backend to read them in place. */
export type WeightsPlacement = WeightsShare['kind'];

/** Builds a built-in model's seeded weights once, where its kernel backend reads them. */
export function buildDummyWeights(modelConfig: ModelConfig, placement: WeightsPlacement, seed: number): WeightsShare {
  const tensors = builtInLayout(modelConfig);
  const share = allocate(layoutBytes(tensors), placement, tensors);
  initDummyWeights(attachWeights(modelConfig, share), seed, SPECIAL_TOKENS.eos);
  return share;
}

/**
 * Reads a GGUF file's tensor data once, straight from the file into shared memory (no copy on
 * the JavaScript heap), keeping each tensor in its own type.
 */
export function loadGgufWeights(file: GgufFile, tensors: readonly TensorLayout[], placement: WeightsPlacement): WeightsShare {
  const share = allocate(layoutBytes(tensors), placement, tensors);
  const buffer = share.kind === 'buffer' ? share.buffer : share.memory.buffer;
  readTensorData(file, new Uint8Array(buffer, share.byteOffset, layoutBytes(tensors)));
  return share;
}

/** Views of shared weights, in this thread. */
export function attachWeights(modelConfig: ModelConfig, share: WeightsShare): ModelWeights {
  const buffer = share.kind === 'buffer' ? share.buffer : share.memory.buffer;
  return mapWeights(modelConfig, share.tensors, buffer, share.byteOffset);
}

function allocate(bytes: number, placement: WeightsPlacement, tensors: readonly TensorLayout[]): WeightsShare {
  return placement === 'wasm-memory'
    ? { kind: 'wasm-memory', memory: createSharedMemory(bytes), byteOffset: RESERVED_BYTES, tensors }
    : { kind: 'buffer', buffer: new SharedArrayBuffer(bytes), byteOffset: 0, tensors };
}
