import os from 'node:os';
import type { KernelBackend } from '../backends/backend.js';
import { ModelLoadError } from '../formats/model-load-error.js';
import type { Architecture } from '../models/architecture.js';
import type { EngineShape, ModelConfig } from '../models/model.js';
import type { ResolvedEngineConfig } from './engine-config.js';

const GIB = 1024 ** 3;
/** What a replica's allocator may round up past the buffers the model counts (the wasm arena grows in 16 MiB chunks). */
const REPLICA_SLACK_BYTES = 16 << 20;

/** The shape of the engine `config` describes, as a model is built for it. */
export function engineShape(config: ResolvedEngineConfig): EngineShape {
  return {
    maxTokens: config.maxNumBatchedTokens,
    maxLogits: config.maxNumSeqs,
    kvCacheSlots: config.numKvBlocks * config.blockSize,
    blockSize: config.blockSize,
    maxBlocksPerSeq: Math.ceil(config.maxModelLen / config.blockSize),
    maxContextLen: config.maxModelLen,
  };
}

/** Bytes one engine replica allocates: what its architecture counts for its buffers, and the allocator's rounding. */
export function replicaBytes(architecture: Architecture<ModelConfig>, config: ResolvedEngineConfig): number {
  return architecture.bufferBytes(config.modelConfig, engineShape(config)) + REPLICA_SLACK_BYTES;
}

/**
 * Refuses, with the figures, a model whose weights plus `replicas` engines' KV caches and buffers
 * would not fit the memory `backend` can address (a WebAssembly memory holds 4 GiB), or, for a
 * backend without a limit of its own, the machine's memory. The weights count once: every
 * replica of the process shares them.
 */
export function checkMemory(backend: KernelBackend, architecture: Architecture<ModelConfig>, config: ResolvedEngineConfig, weightsBytes: number, replicas: number, machineBytes = os.totalmem()): void {
  const limit = backend.memoryLimit ?? { bytes: machineBytes, description: `this machine's ${(machineBytes / GIB).toFixed(2)} GiB of memory` };
  const perReplica = replicaBytes(architecture, config);
  const total = weightsBytes + replicas * perReplica;
  if (total <= limit.bytes) return;
  const gib = (bytes: number) => `${(bytes / GIB).toFixed(2)} GiB`;
  throw new ModelLoadError(
    `${config.model} does not fit: its weights take ${gib(weightsBytes)} and each of ${replicas} engine replica(s) ${gib(perReplica)} ` +
      `(KV cache for ${config.numKvBlocks * config.blockSize} tokens, activations, logits), ${gib(total)} in all, over ` +
      `${limit.description}; lower --kv-cache-tokens, --max-model-len, --max-num-batched-tokens or --workers`,
  );
}
