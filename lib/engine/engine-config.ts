import os from 'node:os';
import { backendNamed, GPUJS_MODES, KERNEL_BACKENDS, NATIVE_ISAS, type GpuJsMode, type KernelBackendName, type NativeIsa } from '../backends/registry.js';
import type { ModelConfig } from '../models/model.js';
import { numberProblem } from '../util/number-rule.js';
import type { ModelSource } from '../models/open-model.js';

/** More threads than this per engine would only contend for the same cores' caches. */
export const MAX_THREADS_PER_WORKER = 64;

/** The most threads one engine gets by default; past this a machine runs more engines (only 2 cores were measured). */
const DEFAULT_THREADS_CAP = 8;

/**
 * How a machine's cores are shared by default: one engine on all of them (up to 8 threads), more
 * engines only past that. On a small machine one engine on every core serves a single stream
 * 1.5× faster than one engine per core, and a full batch within a few per cent of it
 * (npm run bench:threads; README, "Threads and workers").
 */
export function defaultEngineLayout(cores = os.availableParallelism()): { workers: number; threadsPerWorker: number } {
  const threadsPerWorker = Math.max(1, Math.min(cores, DEFAULT_THREADS_CAP));
  return { workers: Math.max(1, Math.floor(cores / threadsPerWorker)), threadsPerWorker };
}

/** Threads per engine when `replicas` engines share the machine and the caller named none. */
export function defaultThreadsPerWorker(replicas: number, cores = os.availableParallelism()): number {
  return Math.max(1, Math.min(Math.floor(cores / replicas), DEFAULT_THREADS_CAP));
}

/** `auto` picks a concrete backend for this machine (chooseBackend in backends/registry.ts). */
export type KernelsSetting = KernelBackendName | 'auto';
export const KERNEL_SETTINGS: readonly KernelsSetting[] = ['auto', ...KERNEL_BACKENDS];

/** What a caller may ask of an engine; every field is optional and checked by resolveEngineConfig. */
export interface EngineConfigInput {
  /** A built-in model (dummy-tiny, dummy, dummy-large) or the path of a .gguf file. */
  readonly model?: string;
  readonly kernels?: KernelsSetting;
  readonly gpujsMode?: GpuJsMode;
  /** The native kernels' SIMD path: auto (the best this CPU has), avx512-vnni or avx2. */
  readonly nativeIsa?: NativeIsa;
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
  /**
   * Threads each engine runs its forward pass on (wasm kernels only): its own and helpers that
   * share every matmul and attention. Default: see defaultThreadsPerWorker.
   */
  readonly threadsPerWorker?: number;
}

/**
 * Everything an engine replica is built from, resolved: defaults filled in, every field checked,
 * and the kernel backend chosen for this machine. Only this type reaches an engine. Plain data,
 * so it can be sent to a worker.
 */
export interface ResolvedEngineConfig {
  /** As the caller named it: a built-in model's name or the GGUF file's path. */
  readonly model: string;
  /** The GGUF file, absolute; null for a built-in model. */
  readonly modelPath: string | null;
  readonly modelConfig: ModelConfig;
  /** Tokens that end a sequence (EOS, end of turn, …) unless it ignores EOS. */
  readonly endOfGenerationIds: readonly number[];
  readonly kernels: KernelBackendName;
  /** Why that backend, in words (`auto`'s rule, or "chosen explicitly"). */
  readonly kernelsReason: string;
  readonly gpujsMode: GpuJsMode;
  /** Concrete (avx512-vnni, avx2) once the native kernels are chosen. */
  readonly nativeIsa: NativeIsa;
  readonly seed: number;
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
  readonly maxModelLen: number;
  readonly blockSize: number;
  readonly numKvBlocks: number;
  readonly enablePrefixCaching: boolean;
  readonly enableChunkedPrefill: boolean;
  readonly threadsPerWorker: number;
}

export const ENGINE_DEFAULTS = Object.freeze({
  model: 'dummy',
  kernels: 'auto' as KernelsSetting,
  gpujsMode: 'webasm' as GpuJsMode,
  nativeIsa: 'auto' as NativeIsa,
  seed: 0,
  maxNumSeqs: 32,
  maxNumBatchedTokens: 256,
  blockSize: 16,
  kvCacheTokens: 8192,
  /** A model's own context may run to 128k tokens; without --max-model-len its KV cache is sized for at most this many. */
  maxDefaultModelLen: 8192,
  enablePrefixCaching: true,
  enableChunkedPrefill: true,
});

/**
 * Fills in defaults and checks every field against the model but the kernel choice, which needs
 * the machine (see resolveEngineConfig). Throws a RangeError naming the first bad field.
 */
export function checkEngineConfig(
  input: EngineConfigInput,
  source: ModelSource,
  endOfGenerationIds: readonly number[],
  replicas = 1,
): Omit<ResolvedEngineConfig, 'kernels' | 'kernelsReason'> & { readonly kernels: KernelsSetting } {
  const modelConfig = source.modelConfig;
  const kernels = input.kernels ?? ENGINE_DEFAULTS.kernels;
  if (!KERNEL_SETTINGS.includes(kernels)) throw new RangeError(`kernels must be one of ${KERNEL_SETTINGS.join(', ')}`);
  const gpujsMode = input.gpujsMode ?? ENGINE_DEFAULTS.gpujsMode;
  if (!GPUJS_MODES.includes(gpujsMode)) throw new RangeError(`gpujsMode must be one of ${GPUJS_MODES.join(', ')}`);
  const nativeIsa = input.nativeIsa ?? ENGINE_DEFAULTS.nativeIsa;
  if (!NATIVE_ISAS.includes(nativeIsa)) throw new RangeError(`nativeIsa must be one of ${NATIVE_ISAS.join(', ')}`);

  const seed = input.seed ?? ENGINE_DEFAULTS.seed;
  if (!Number.isSafeInteger(seed)) throw new RangeError('seed must be an integer');
  const defaultLen = source.kind === 'gguf' ? Math.min(modelConfig.maxSeqLen, ENGINE_DEFAULTS.maxDefaultModelLen) : modelConfig.maxSeqLen;
  const maxModelLen = positiveInt(input.maxModelLen ?? defaultLen, 'maxModelLen');
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
  const threadsPerWorker = positiveInt(input.threadsPerWorker ?? defaultThreadsPerWorker(replicas), 'threadsPerWorker');
  if (threadsPerWorker > MAX_THREADS_PER_WORKER) throw new RangeError(`threadsPerWorker must be at most ${MAX_THREADS_PER_WORKER}`);
  const blockSize = positiveInt(input.blockSize ?? ENGINE_DEFAULTS.blockSize, 'blockSize');
  const kvCacheTokens = positiveInt(input.kvCacheTokens ?? Math.max(ENGINE_DEFAULTS.kvCacheTokens, maxModelLen), 'kvCacheTokens');
  // one sequence of the longest allowed length must always fit, or it could never finish
  if (kvCacheTokens < maxModelLen) throw new RangeError(`kvCacheTokens (${kvCacheTokens}) must be at least maxModelLen (${maxModelLen})`);
  return {
    model: input.model ?? ENGINE_DEFAULTS.model,
    modelPath: source.kind === 'gguf' ? source.path : null,
    modelConfig,
    endOfGenerationIds,
    kernels,
    gpujsMode,
    nativeIsa,
    seed,
    maxNumSeqs,
    maxNumBatchedTokens,
    maxModelLen,
    blockSize,
    numKvBlocks: Math.ceil(kvCacheTokens / blockSize),
    enablePrefixCaching: input.enablePrefixCaching ?? ENGINE_DEFAULTS.enablePrefixCaching,
    enableChunkedPrefill,
    threadsPerWorker,
  };
}

function positiveInt(value: unknown, name: string): number {
  const problem = numberProblem(value, { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true });
  if (problem !== null) throw new RangeError(`${name} ${problem}`);
  return value as number;
}

/** The backend and its mode in use, as the start line names it: "native avx512-vnni", "gpujs webasm", "wasm". */
export function kernelsLabel(config: ResolvedEngineConfig): string {
  const setting = backendNamed(config.kernels).modeSetting;
  return setting ? `${config.kernels} ${config[setting]}` : config.kernels;
}
