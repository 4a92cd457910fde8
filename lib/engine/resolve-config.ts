import type { KernelBackend } from '../backends/backend.js';
import { backendNamed, chooseBackend, THREADED_BACKENDS, type KernelBackendName } from '../backends/registry.js';
import { ModelLoadError } from '../formats/model-load-error.js';
import { buildDummyWeights, loadGgufWeights, type WeightsShare } from '../models/load-weights.js';
import { openModel, tokenizerOf, type ModelSource } from '../models/open-model.js';
import { ggmlTypeName } from '../tensors/tensor-types.js';
import { layoutBytes } from '../tensors/weights.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { checkEngineConfig, ENGINE_DEFAULTS, type EngineConfigInput, type ResolvedEngineConfig } from './engine-config.js';
import { checkMemory } from './memory-plan.js';

/**
 * The one place an engine's configuration is resolved: the model opened (a built-in preset, or a
 * GGUF file's header checked), defaults and checks (checkEngineConfig), then the kernel backend
 * for this machine (`auto` is chosen by the registry's rule, an explicit choice is checked to run
 * here), and the model checked against it: every tensor type multiplied, every op present.
 * Returns the config and why its backend was chosen.
 */
export async function resolveEngineConfig(input: EngineConfigInput = {}): Promise<{ config: ResolvedEngineConfig; reason: string }> {
  const source = openModel(input.model ?? ENGINE_DEFAULTS.model);
  const { config, reason } = await resolveFor(input, source, tokenizerOf(source));
  return { config, reason };
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
  const { config, reason, backend } = await resolveFor(input, source, tokenizer, replicas);
  checkMemory(backend, source.architecture, config, layoutBytes(source.tensors), replicas);
  const weights = source.kind === 'gguf' ? loadGgufWeights(source.file, source.tensors, backend) : buildDummyWeights(source.modelConfig, source.tensors, backend, config.seed);
  return { config, reason, tokenizer, weights };
}

async function resolveFor(input: EngineConfigInput, source: ModelSource, tokenizer: Tokenizer, replicas = 1): Promise<{ config: ResolvedEngineConfig; reason: string; backend: KernelBackend }> {
  const checked = checkEngineConfig(input, source, tokenizer.endOfGenerationIds, replicas);
  let backend: KernelBackend;
  let mode: string | undefined;
  let reason = 'chosen explicitly';
  if (checked.kernels === 'auto') {
    const { rows, cols } = source.architecture.largestMatmul(source.modelConfig);
    const choice = await chooseBackend({ rows, cols, n: checked.maxNumSeqs });
    backend = choice.backend;
    mode = backend.modeSetting ? choice.mode || checked[backend.modeSetting] : undefined;
    reason = choice.reason;
  } else {
    backend = backendNamed(checked.kernels);
    mode = backend.modeSetting ? checked[backend.modeSetting] : undefined;
    const problem = await backend.unavailable(mode);
    if (problem !== null) throw new RangeError(problem);
  }
  checkModelOn(backend, source);
  // a backend that threads by a team of its own takes the thread count; any other runs on one thread (or the GPU)
  let threadsPerWorker = 1;
  if (backend.threading === 'team') threadsPerWorker = checked.threadsPerWorker;
  else if (input.threadsPerWorker !== undefined && input.threadsPerWorker > 1) throw new RangeError(`threadsPerWorker above 1 needs kernels that run a thread team (${THREADED_BACKENDS.join(', ')}), not ${backend.name}`);
  // the backend's mode made concrete (native `auto` becomes the CPU's path), the other settings as given
  const modes = backend.modeSetting && mode !== undefined ? { [backend.modeSetting]: backend.resolveMode ? backend.resolveMode(mode) : mode } : {};
  const config = { ...checked, kernels: backend.name as KernelBackendName, kernelsReason: reason, threadsPerWorker, ...modes } as ResolvedEngineConfig;
  return { config, reason, backend };
}

/** Refuses, naming it, a tensor type or an op of the model that `backend` does not have: at resolve time, never in a worker. */
function checkModelOn(backend: KernelBackend, source: ModelSource): void {
  const where = source.kind === 'gguf' ? source.path : source.name;
  for (const t of source.tensors) {
    if (t.dims.length > 1 && !backend.supports(t.type)) throw new ModelLoadError(`${where}: tensor ${t.name} is ${ggmlTypeName(t.type)}, which the ${backend.name} kernels do not multiply`);
  }
  const missing = source.architecture.requiredOps.filter((op) => !backend.ops.includes(op));
  if (missing.length > 0) throw new ModelLoadError(`${where}: its ${source.modelConfig.architecture} architecture needs the ${missing.join(', ')} kernels, which the ${backend.name} backend does not have`);
}
