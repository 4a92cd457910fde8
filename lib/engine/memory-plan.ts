import { layoutBytes, type TensorLayout } from '../model/weights.js';
import { kvDim, qDim } from '../model/model-config.js';
import { MAX_PAGES, RESERVED_BYTES } from '../model/kernels/wasm-arena.js';
import { ModelLoadError } from '../model/model-load-error.js';
import type { ResolvedEngineConfig } from './engine-config.js';

const GIB = 1024 ** 3;
/** The largest shared memory a 32-bit WebAssembly module can address. */
export const WASM_MEMORY_LIMIT = MAX_PAGES * 65536;

/** Bytes one engine replica allocates for itself: KV cache (f16), activations, logits and scratch. */
export function replicaBytes(config: ResolvedEngineConfig): number {
  const c = config.modelConfig;
  const slots = config.numKvBlocks * config.blockSize;
  const kvCache = 2 * c.numLayers * slots * kvDim(c) * 2;
  const tokens = config.maxNumBatchedTokens;
  const activations = 4 * tokens * (3 * c.dim + 2 * qDim(c) + 2 * kvDim(c) + 3 * c.hiddenDim);
  const logits = 4 * 2 * config.maxNumSeqs * c.vocabSize; // logits and probabilities
  const scratch = 4 * tokens * Math.max(c.dim, qDim(c), c.hiddenDim) + 4 * c.numHeads * config.maxModelLen;
  const ropeTable = 4 * config.maxModelLen * c.headDim;
  return kvCache + activations + logits + scratch + ropeTable + (16 << 20); // and a chunk of slack for the arena's rounding
}

/**
 * Refuses, with the figures, a model whose weights plus `replicas` engines' KV caches and buffers
 * would not fit the 4 GiB a WebAssembly memory can hold (the wasm backend keeps all of it in one
 * shared memory).
 */
export function checkWasmMemory(config: ResolvedEngineConfig, tensors: readonly TensorLayout[], replicas: number): void {
  if (config.kernels !== 'wasm') return;
  const weights = layoutBytes(tensors);
  const perReplica = replicaBytes(config);
  const total = RESERVED_BYTES + weights + replicas * perReplica;
  if (total <= WASM_MEMORY_LIMIT) return;
  const gib = (bytes: number) => `${(bytes / GIB).toFixed(2)} GiB`;
  throw new ModelLoadError(
    `${config.model} does not fit: its weights take ${gib(weights)} and each of ${replicas} engine replica(s) ${gib(perReplica)} ` +
      `(KV cache for ${config.numKvBlocks * config.blockSize} tokens, activations, logits), ${gib(total)} in all, over the ` +
      `${gib(WASM_MEMORY_LIMIT)} a WebAssembly memory can hold; lower --kv-cache-tokens, --max-model-len, --max-num-batched-tokens or --workers`,
  );
}
