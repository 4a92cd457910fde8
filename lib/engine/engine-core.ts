import { createKernels } from '../model/kernels/create-kernels.js';
import type { Kernels } from '../model/kernels/kernels.js';
import { LlamaModel } from '../model/llama.js';
import { ModelRunner } from '../model/model-runner.js';
import { attachWeights, type WeightsShare } from '../model/load-model.js';
import { SPECIAL_TOKENS } from '../tokenizer/byte-tokenizer.js';
import { Rng } from '../util/rng.js';
import { BlockManager } from './block-manager.js';
import type { EngineConfig } from './engine-config.js';
import type { LifecycleEvent } from './lifecycle.js';
import { LLMEngine } from './llm-engine.js';
import { Sampler } from './sampler.js';
import { Scheduler } from './scheduler.js';

export interface EngineCore {
  readonly llm: LLMEngine;
  readonly kernels: Kernels;
}

/** Builds one engine replica (kernels, model, KV cache, scheduler) over already-built, shared weights. */
export function createEngineCore(share: WeightsShare, config: EngineConfig, onLifecycle?: (event: LifecycleEvent) => void): EngineCore {
  const weights = attachWeights(config, share);
  const kernels = createKernels({
    backend: config.kernels,
    gpujsMode: config.gpujsMode,
    maxContextLen: config.maxModelLen,
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
      eosTokenId: SPECIAL_TOKENS.eos,
    },
    blockManager,
  );
  const llm = new LLMEngine(scheduler, new ModelRunner(model, kernels, config.maxNumSeqs), new Sampler(weights.config.vocabSize), {
    vocabSize: weights.config.vocabSize,
    maxModelLen: config.maxModelLen,
    rng: new Rng(config.seed),
    ...(onLifecycle ? { onLifecycle } : {}),
  });
  return { llm, kernels };
}
