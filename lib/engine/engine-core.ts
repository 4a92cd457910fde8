import { createKernels } from '../model/kernels/create-kernels.js';
import type { Kernels } from '../model/kernels/kernels.js';
import { LlamaModel } from '../model/llama.js';
import { attachWeights, type WeightsShare } from '../model/load-model.js';
import { Rng } from '../util/rng.js';
import { BlockManager } from './block-manager.js';
import type { ResolvedEngineConfig } from './engine-config.js';
import type { LifecycleEvent } from './lifecycle.js';
import { LLMEngine } from './llm-engine.js';
import { ModelRunner } from './model-runner.js';
import { Sampler } from './sampler.js';
import { Scheduler } from './scheduler.js';

export interface EngineCore {
  readonly llm: LLMEngine;
  readonly kernels: Kernels;
}

/** Builds one engine replica from already-built, shared weights; a worker may build its replica another way. */
export type EngineCoreBuilder = (share: WeightsShare, config: ResolvedEngineConfig, onLifecycle?: (event: LifecycleEvent) => void) => Promise<EngineCore>;

/** Builds one engine replica (kernels, model, KV cache, scheduler) over already-built, shared weights. */
export const createEngineCore: EngineCoreBuilder = async (share, config, onLifecycle) => {
  const weights = attachWeights(config.modelConfig, share);
  const kernels = await createKernels({
    backend: config.kernels,
    gpujsMode: config.gpujsMode,
    maxContextLen: config.maxModelLen,
    threads: config.threadsPerWorker,
    ...(share.kind === 'wasm-memory' ? { memory: share.memory } : {}),
  });
  const maxBlocksPerSeq = Math.ceil(config.maxModelLen / config.blockSize);
  const model = new LlamaModel(
    weights,
    kernels,
    config.maxNumBatchedTokens,
    config.maxNumSeqs,
    config.numKvBlocks * config.blockSize,
    config.blockSize,
    maxBlocksPerSeq,
  );
  const blockManager = new BlockManager(config.numKvBlocks, config.blockSize, config.enablePrefixCaching);
  const scheduler = new Scheduler(
    {
      maxNumSeqs: config.maxNumSeqs,
      maxNumBatchedTokens: config.maxNumBatchedTokens,
      enableChunkedPrefill: config.enableChunkedPrefill,
      endOfGenerationIds: config.endOfGenerationIds,
    },
    blockManager,
  );
  const llm = new LLMEngine(scheduler, new ModelRunner(model, kernels, config.maxNumSeqs), new Sampler(weights.config.vocabSize), {
    vocabSize: weights.config.vocabSize,
    maxModelLen: config.maxModelLen,
    endOfGenerationIds: config.endOfGenerationIds,
    rng: new Rng(config.seed),
    ...(onLifecycle ? { onLifecycle } : {}),
  });
  return { llm, kernels };
};
