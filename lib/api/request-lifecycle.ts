import type { FinishReason } from '../engine/sequence.js';
import type { TraceOptions } from '../engine/trace-options.js';

/** Why a request ended without success; the `reason` of the tracing contract's api.ABORTED. */
export type AbortReason =
  | 'client_disconnect'
  | 'validation_error'
  | 'context_length_exceeded'
  | 'overloaded'
  | 'engine_failure'
  | 'generation_error'
  | 'timeout'
  | 'server_shutdown'
  | 'exception';

/** What became known about a request once its body was parsed. */
export interface RequestInfo {
  readonly requestId: string;
  readonly requestedModel: string;
  readonly servedModel: string;
  readonly temperature?: number;
  readonly topP?: number;
  readonly maxTokens?: number | null;
  readonly n?: number;
  readonly seed?: number;
  readonly stream?: boolean;
  readonly promptTokens?: number;
}

export interface RequestOutcome {
  readonly finishReasons: readonly (FinishReason | null)[];
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/**
 * The moments of one generation request on the API thread, for tracing and metrics. The route
 * calls `departed` or `aborted` exactly once, whatever happens; implementations must never throw.
 */
export interface RequestLifecycle {
  described(info: RequestInfo): void;
  /** Trace inputs for the engine request of choice `index`; undefined when not traced. */
  traceFor(index: number): TraceOptions | undefined;
  handedOff(): void;
  firstResponse(): void;
  departed(outcome: RequestOutcome): void;
  aborted(reason: AbortReason, error: unknown, outcome: RequestOutcome | null): void;
}

export interface RequestObserver {
  begin(route: '/v1/chat/completions' | '/v1/completions', operation: 'chat' | 'text_completion'): RequestLifecycle;
}

const NOOP_LIFECYCLE: RequestLifecycle = {
  described() {},
  traceFor: () => undefined,
  handedOff() {},
  firstResponse() {},
  departed() {},
  aborted() {},
};

export const NOOP_OBSERVER: RequestObserver = { begin: () => NOOP_LIFECYCLE };
