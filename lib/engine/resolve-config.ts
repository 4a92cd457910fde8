import { checkKernelsAvailable, chooseKernels } from '../model/kernels/choose-kernels.js';
import { buildDummyWeights, loadGgufWeights, type WeightsShare } from '../model/load-model.js';
import { builtInLayout } from '../model/weights.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { checkEngineConfig, ENGINE_DEFAULTS, type EngineConfigInput, type ResolvedEngineConfig } from './engine-config.js';
import { checkWasmMemory } from './memory-plan.js';
import { openModel, tokenizerOf, type ModelSource } from './model-source.js';

/**
 * The one place an engine's configuration is resolved: the model opened (a built-in preset, or a
 * GGUF file's header checked), defaults and checks (checkEngineConfig), then the kernel backend
 * for this machine (`auto` is chosen by the rule in choose-kernels.ts, an explicit choice is
 * checked to run here). Returns the config and why its backend was chosen.
 */
export async function resolveEngineConfig(input: EngineConfigInput = {}): Promise<{ config: ResolvedEngineConfig; reason: string }> {
  const source = openModel(input.model ?? ENGINE_DEFAULTS.model);
  return resolveFor(input, source, tokenizerOf(source));
}

/** A resolved engine with what it is built from: its tokenizer, and its weights loaded once into shared memory. */
export interface PreparedEngine {
  readonly config: ResolvedEngineConfig;
  /** Why this kernel backend, in words. */
  readonly reason: string;
  readonly tokenizer: Tokenizer;
  readonly weights: WeightsShare;
}

/**
 * Resolves the config, then loads the weights (for a GGUF file, straight from the file into
 * shared memory) after checking that they and `replicas` engines fit the memory they will live in.
 */
export async function prepareEngine(input: EngineConfigInput = {}, replicas = 1): Promise<PreparedEngine> {
  const source = openModel(input.model ?? ENGINE_DEFAULTS.model);
  const tokenizer = tokenizerOf(source);
  const { config, reason } = await resolveFor(input, source, tokenizer, replicas);
  const tensors = source.kind === 'gguf' ? source.tensors : builtInLayout(source.modelConfig);
  checkWasmMemory(config, tensors, replicas);
  const placement = config.kernels === 'wasm' ? 'wasm-memory' : 'buffer';
  const weights = source.kind === 'gguf' ? loadGgufWeights(source.file, source.tensors, placement) : buildDummyWeights(source.modelConfig, placement, config.seed);
  return { config, reason, tokenizer, weights };
}

async function resolveFor(input: EngineConfigInput, source: ModelSource, tokenizer: Tokenizer, replicas = 1): Promise<{ config: ResolvedEngineConfig; reason: string }> {
  const checked = checkEngineConfig(input, source, tokenizer.endOfGenerationIds, replicas);
  // helper threads share the wasm kernels' memory; another backend runs on its own thread (or the GPU)
  const threadsFor = (backend: string) => {
    if (backend === 'wasm') return checked.threadsPerWorker;
    if (input.threadsPerWorker !== undefined && input.threadsPerWorker > 1) throw new RangeError(`threadsPerWorker above 1 needs the wasm kernels, not ${backend}`);
    return 1;
  };
  if (checked.kernels === 'auto') {
    const choice = await chooseKernels(checked.modelConfig, checked.maxNumSeqs);
    return { config: { ...checked, kernels: choice.backend, gpujsMode: choice.gpujsMode, threadsPerWorker: threadsFor(choice.backend) }, reason: choice.reason };
  }
  await checkKernelsAvailable(checked.kernels, checked.gpujsMode);
  return { config: { ...checked, kernels: checked.kernels, threadsPerWorker: threadsFor(checked.kernels) }, reason: 'chosen explicitly' };
}
