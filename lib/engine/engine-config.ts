import { GPUJS_MODES, KERNEL_BACKENDS, type KernelBackendName } from '../model/kernels/create-kernels.js';
import type { GpuJsMode } from '../model/kernels/gpujs.js';
import { isPresetName, MODEL_PRESETS, validateModelConfig, type ModelConfig } from '../model/model-config.js';
import { numberProblem } from '../util/number-rule.js';

/** `auto` picks a concrete backend for this machine (see choose-kernels.ts). */
export type KernelsSetting = KernelBackendName | 'auto';
export const KERNEL_SETTINGS: readonly KernelsSetting[] = ['auto', ...KERNEL_BACKENDS];

/** What a caller may ask of an engine; every field is optional and checked by resolveEngineConfig. */
export interface EngineConfigInput {
  readonly model?: string;
  readonly kernels?: KernelsSetting;
  readonly gpujsMode?: GpuJsMode;
  /** Seeds the dummy weights and the seeds of requests that bring none. */
  readonly seed?: number;
  readonly maxNumSeqs?: number;
  readonly maxNumBatchedTokens?: number;
  readonly maxModelLen?: number;
  readonly blockSize?: number;
  /** Size of the KV cache in tokens; rounded up to whole blocks. */
  readonly kvCacheTokens?: number;
  readonly enablePrefixCaching?: boolean;
  readonly enableChunkedPrefill?: boolean;
}

/**
 * Everything an engine replica is built from, resolved: defaults filled in, every field checked,
 * and the kernel backend chosen for this machine. Only this type reaches an engine. Plain data,
 * so it can be sent to a worker.
 */
export interface ResolvedEngineConfig {
  readonly model: string;
  readonly modelConfig: ModelConfig;
  readonly kernels: KernelBackendName;
  readonly gpujsMode: GpuJsMode;
  readonly seed: number;
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
  readonly maxModelLen: number;
  readonly blockSize: number;
  readonly numKvBlocks: number;
  readonly enablePrefixCaching: boolean;
  readonly enableChunkedPrefill: boolean;
}

export const ENGINE_DEFAULTS = Object.freeze({
  model: 'dummy',
  kernels: 'auto' as KernelsSetting,
  gpujsMode: 'webasm' as GpuJsMode,
  seed: 0,
  maxNumSeqs: 32,
  maxNumBatchedTokens: 256,
  blockSize: 16,
  kvCacheTokens: 8192,
  enablePrefixCaching: true,
  enableChunkedPrefill: true,
});

/**
 * Fills in defaults and checks every field but the kernel choice, which needs the machine (see
 * resolveEngineConfig). Throws a RangeError naming the first bad field.
 */
export function checkEngineConfig(input: EngineConfigInput): Omit<ResolvedEngineConfig, 'kernels'> & { readonly kernels: KernelsSetting } {
  const model = input.model ?? ENGINE_DEFAULTS.model;
  if (!isPresetName(model)) {
    throw new RangeError(`unknown model "${model}"; built-in models: ${Object.keys(MODEL_PRESETS).join(', ')}`);
  }
  const modelConfig: ModelConfig = MODEL_PRESETS[model];
  validateModelConfig(modelConfig);
  const kernels = input.kernels ?? ENGINE_DEFAULTS.kernels;
  if (!KERNEL_SETTINGS.includes(kernels)) throw new RangeError(`kernels must be one of ${KERNEL_SETTINGS.join(', ')}`);
  const gpujsMode = input.gpujsMode ?? ENGINE_DEFAULTS.gpujsMode;
  if (!GPUJS_MODES.includes(gpujsMode)) throw new RangeError(`gpujsMode must be one of ${GPUJS_MODES.join(', ')}`);

  const seed = input.seed ?? ENGINE_DEFAULTS.seed;
  if (!Number.isSafeInteger(seed)) throw new RangeError('seed must be an integer');
  const maxModelLen = positiveInt(input.maxModelLen ?? modelConfig.maxSeqLen, 'maxModelLen');
  if (maxModelLen > modelConfig.maxSeqLen) {
    throw new RangeError(`maxModelLen ${maxModelLen} exceeds the model's maximum of ${modelConfig.maxSeqLen}`);
  }
  const maxNumSeqs = positiveInt(input.maxNumSeqs ?? ENGINE_DEFAULTS.maxNumSeqs, 'maxNumSeqs');
  const maxNumBatchedTokens = positiveInt(input.maxNumBatchedTokens ?? ENGINE_DEFAULTS.maxNumBatchedTokens, 'maxNumBatchedTokens');
  if (maxNumBatchedTokens < maxNumSeqs) throw new RangeError('maxNumBatchedTokens must be at least maxNumSeqs');
  const enableChunkedPrefill = input.enableChunkedPrefill ?? ENGINE_DEFAULTS.enableChunkedPrefill;
  if (!enableChunkedPrefill && maxNumBatchedTokens < maxModelLen) {
    throw new RangeError('without chunked prefill, maxNumBatchedTokens must be at least maxModelLen');
  }
  const blockSize = positiveInt(input.blockSize ?? ENGINE_DEFAULTS.blockSize, 'blockSize');
  const kvCacheTokens = positiveInt(input.kvCacheTokens ?? Math.max(ENGINE_DEFAULTS.kvCacheTokens, maxModelLen), 'kvCacheTokens');
  // one sequence of the longest allowed length must always fit, or it could never finish
  if (kvCacheTokens < maxModelLen) throw new RangeError(`kvCacheTokens (${kvCacheTokens}) must be at least maxModelLen (${maxModelLen})`);
  return {
    model,
    modelConfig,
    kernels,
    gpujsMode,
    seed,
    maxNumSeqs,
    maxNumBatchedTokens,
    maxModelLen,
    blockSize,
    numKvBlocks: Math.ceil(kvCacheTokens / blockSize),
    enablePrefixCaching: input.enablePrefixCaching ?? ENGINE_DEFAULTS.enablePrefixCaching,
    enableChunkedPrefill,
  };
}

function positiveInt(value: unknown, name: string): number {
  const problem = numberProblem(value, { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true });
  if (problem !== null) throw new RangeError(`${name} ${problem}`);
  return value as number;
}
