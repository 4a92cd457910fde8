import type { Kernels } from '../backends/kernels.js';
import { backendNamed } from '../backends/registry.js';
import { DecodePipeline, defaultLogitsProcessors } from '../decode/pipeline.js';
import { Sampler } from '../decode/sampler.js';
import { weightsView, type WeightsShare } from '../models/load-weights.js';
import { architectureNamed } from '../models/registry.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { Rng } from '../util/rng.js';
import { BlockManager } from './block-manager.js';
import type { ResolvedEngineConfig } from './engine-config.js';
import type { LifecycleEvent } from './lifecycle.js';
import { LLMEngine } from './llm-engine.js';
import { engineShape } from './memory-plan.js';
import { ModelRunner } from './model-runner.js';
import { Scheduler } from './scheduler.js';

export interface EngineCore {
  readonly llm: LLMEngine;
  readonly kernels: Kernels;
  /** The model's vocabulary as this replica sees it, for what decodes against token text (grammar masks). */
  readonly vocabulary: () => Tokenizer;
}

/** What a replica is built from: all of it made once by the API thread and handed to each replica. */
export interface EngineCoreParts {
  readonly weights: WeightsShare;
  /** Built on first use: a worker rebuilds the tokenizer from its recipe only if something decodes against it. */
  readonly vocabulary: () => Tokenizer;
  readonly config: ResolvedEngineConfig;
  readonly onLifecycle?: (event: LifecycleEvent) => void;
}

/** Builds one engine replica; a worker may build its replica another way. */
export type EngineCoreBuilder = (parts: EngineCoreParts) => Promise<EngineCore>;

/**
 * Builds one engine replica over already-built, shared weights, from the two registries: the
 * kernels of its backend, its architecture's model over them, then the KV cache's block manager,
 * the scheduler and the decode pipeline.
 */
export const createEngineCore: EngineCoreBuilder = async ({ weights: share, vocabulary, config, onLifecycle }) => {
  const architecture = architectureNamed(config.modelConfig.architecture);
  if (!architecture) throw new RangeError(`no architecture ${config.modelConfig.architecture}`);
  const backend = backendNamed(config.kernels);
  const kernels = await backend.create({ maxContextLen: config.maxModelLen, threads: config.threadsPerWorker, ...(backend.modeSetting ? { mode: config[backend.modeSetting] } : {}), memory: share });
  const shape = engineShape(config);
  const model = architecture.build(config.modelConfig, weightsView(share, backend), kernels, shape);
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
  const runner = new ModelRunner(model, kernels, config.maxNumSeqs);
  const vocabSize = config.modelConfig.vocabSize;
  const decoder = new DecodePipeline(vocabSize, defaultLogitsProcessors(config.endOfGenerationIds), new Sampler(vocabSize), (seqs, logits) => runner.probabilities(seqs, logits));
  const llm = new LLMEngine(scheduler, runner, decoder, {
    vocabSize,
    maxModelLen: config.maxModelLen,
    endOfGenerationIds: config.endOfGenerationIds,
    rng: new Rng(config.seed),
    ...(onLifecycle ? { onLifecycle } : {}),
  });
  return { llm, kernels, vocabulary };
};
