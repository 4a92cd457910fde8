import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { ResolvedEngineConfig } from './engine-config.js';
import type { GenerationStream } from './generation-stream.js';
import type { SamplingParamsInput } from './sampling-params.js';
import type { TraceOptions } from './trace-options.js';

export interface GenerateOptions {
  /** Aborting it stops the request, frees its KV blocks and rejects the iteration with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Defaults to a fresh id. */
  readonly requestId?: string;
  /** Set by the server's tracing layer. */
  readonly trace?: TraceOptions;
  /** Called once the request is committed to the engine's queue, before the engine can see it. */
  readonly onCommitted?: () => void;
}

export interface EngineStats {
  readonly numRunning: number;
  readonly numWaiting: number;
  /** Fraction of KV cache blocks in use. */
  readonly kvCacheUsage: number;
  readonly numFreeKvBlocks: number;
  readonly numKvBlocks: number;
  /** Preemptions since the engine started. */
  readonly numPreemptions: number;
}

/** A replica's journey tracing: spans open now, and what became of the finished ones. */
export interface ReplicaTracing {
  readonly replica: number;
  readonly openSpans: number;
  readonly exported: number;
  readonly dropped: number;
  readonly failed: number;
}

export interface CloseOptions {
  /** How long in-flight requests may run to completion before they are aborted. Default 0. */
  readonly gracePeriodMs?: number;
}

/** What the HTTP layer and embedders program against, wherever the engine runs. */
export interface Engine {
  readonly config: ResolvedEngineConfig;
  /** The model's own tokenizer and chat template. */
  readonly tokenizer: Tokenizer;
  /** True while the engine accepts requests. */
  readonly isReady: boolean;
  /**
   * The most requests it holds at once, queued or running (Infinity when unbounded): a caller
   * that needs more at once, such as a request with many choices, can never be served.
   */
  readonly maxRequestsHeld: number;
  /** Text is encoded as the model asks (BOS, special tokens parsed); token ids are used as given. Throws on invalid input. */
  generate(prompt: string | readonly number[], params?: SamplingParamsInput, options?: GenerateOptions): GenerationStream;
  stats(): EngineStats;
  /** Engine replicas serving requests: 1 for an engine in this thread, a pool's workers otherwise. */
  readonly numReplicas: number;
  /** Journey tracing counts of each replica that traces in a worker thread; empty for an engine in this thread. */
  replicaTracing(): readonly ReplicaTracing[];
  close(options?: CloseOptions): Promise<void>;
}
