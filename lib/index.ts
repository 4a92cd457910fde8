export { createEngine } from './engine/create-engine.js';
export type { EngineOptions } from './engine/create-engine.js';
export type { Engine, EngineStats, GenerateOptions, CloseOptions, ReplicaTracing } from './engine/engine.js';
export type { GenerationDelta, GenerationStream } from './engine/generation-stream.js';
export type { ResolvedEngineConfig, EngineConfigInput, KernelsSetting } from './engine/engine-config.js';
export { resolveEngineConfig } from './engine/resolve-config.js';
export type { SamplingParams, SamplingParamsInput } from './engine/sampling-params.js';
export type { LifecycleEvent, LifecycleStamps } from './engine/lifecycle.js';
export type { CancelReason, FinishReason } from './engine/sequence.js';
export type { TraceOptions, TraceCarrier } from './engine/trace-options.js';
export { MODEL_PRESETS } from './models/presets.js';
export { parameterCount } from './models/llama/llama-config.js';
export type { LlamaConfig } from './models/llama/llama-config.js';
export type { ModelConfig } from './models/model.js';
export { ByteTokenizer, SPECIAL_TOKENS } from './tokenizer/byte-tokenizer.js';
export type { ChatMessage, ChatRole } from './tokenizer/chat-message.js';
export * from './errors.js';
export { createPoolEngine, defaultWorkerCount } from './pool/pool-engine.js';
export type { PoolEngine, PoolEngineOptions } from './pool/pool-engine.js';
export {
  /** @deprecated the pool-backed engine is now `createPoolEngine` */
  createPoolEngine as createEngineClient,
} from './pool/pool-engine.js';
export type {
  /** @deprecated now `PoolEngine` */
  PoolEngine as EngineClient,
  /** @deprecated now `PoolEngineOptions` */
  PoolEngineOptions as EngineClientOptions,
} from './pool/pool-engine.js';
export { runEngineWorker } from './pool/engine-loop.js';
export type { EngineWorkerTask } from './pool/engine-loop.js';
export type { WorkerStats } from './pool/replica.js';
export type { AbortReason, ChoiceEvent, RequestInfo, RequestLifecycle, RequestObserver, RequestOutcome } from './observe/request-observer.js';
export { createServer } from './api/create-server.js';
export type { JourneyServer, ServerOptions } from './api/create-server.js';
