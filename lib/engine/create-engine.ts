import type { Engine } from './engine.js';
import type { EngineConfigInput } from './engine-config.js';
import { createEngineCore } from './engine-core.js';
import { EngineFrontend } from './engine-frontend.js';
import type { LifecycleEvent } from './lifecycle.js';
import { LocalBackend } from './local-backend.js';
import { prepareEngine } from './resolve-config.js';

export interface EngineOptions extends EngineConfigInput {
  /** Called synchronously for every lifecycle event of every request. */
  readonly onLifecycle?: (event: LifecycleEvent) => void;
}

/** Builds an engine that runs in the calling thread. */
export async function createEngine(options: EngineOptions = {}): Promise<Engine> {
  const { config, tokenizer, weights } = await prepareEngine(options);
  const { llm, kernels } = await createEngineCore({ weights, vocabulary: () => tokenizer, config, ...(options.onLifecycle ? { onLifecycle: options.onLifecycle } : {}) });
  return new EngineFrontend(tokenizer, new LocalBackend(config, llm, kernels));
}
