import type { IncomingHttpHeaders } from 'node:http';
import type { TokenLogprobs } from '../decode/logprobs.js';
import type { LifecycleStamps } from '../engine/lifecycle.js';
import type { FinishReason } from '../engine/sequence.js';
import type { TraceOptions } from '../engine/trace-options.js';
import type { LogFields } from '../util/logger.js';

/** One delta of one choice of a request, as the route receives it from the engine. */
export interface ChoiceEvent {
  readonly index: number;
  readonly text: string;
  readonly tokenIds: readonly number[];
  readonly finishReason: FinishReason | null;
  /** When the engine produced the tokens (monotonic ns). */
  readonly tsNs?: bigint;
  /** The choice's engine lifecycle stamps so far; complete on its last event. */
  readonly stamps?: Readonly<LifecycleStamps>;
  /** Per token, when the request asked for log probabilities. */
  readonly logprobs?: readonly TokenLogprobs[];
  /** Prompt positions from the second on, when asked for. */
  readonly promptLogprobs?: readonly TokenLogprobs[];
  /** When the API thread received this delta (monotonic ns). */
  readonly receivedNs?: bigint;
}

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
  /** As the client sent it, bounded (boundText): it may be anything. */
  readonly requestedModel: string;
  readonly servedModel: string;
  readonly temperature?: number;
  readonly topP?: number;
  readonly maxTokens?: number | null;
  readonly n?: number;
  readonly seed?: number;
  readonly stream?: boolean;
  readonly promptTokens?: number;
  /** How many prompts the request holds (completions may send several). */
  readonly numPrompts?: number;
  readonly topK?: number;
  readonly presencePenalty?: number;
  readonly frequencyPenalty?: number;
  /** The id the response carries (`chatcmpl-…`), gen_ai.response.id. */
  readonly responseId?: string;
  /** The request's trace id, when it is traced (so that other observers can point to the trace). */
  readonly traceId?: string;
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
  /** Every engine request is submitted; `committedNs` is when the first was written to its queue. */
  handedOff(committedNs: bigint): void;
  /** The first output of any choice reached the API thread at `atNs` (api.FIRST_RESPONSE_FROM_CORE). */
  firstResponse(atNs: bigint): void;
  /** Each delta of each choice, as it arrives. */
  choiceEvent(event: ChoiceEvent): void;
  /** The response's last byte was handed to the socket at `atNs` (before [DONE] for streams). */
  departed(outcome: RequestOutcome, atNs: bigint): void;
  aborted(reason: AbortReason, error: unknown, outcome: RequestOutcome | null, atNs: bigint): void;
  /** Fields for log lines about this request (trace and span ids when traced). */
  logFields(): LogFields;
}

export type GenerationRoutePath = '/v1/chat/completions' | '/v1/completions' | '/v1/responses';

export interface RequestObserver {
  /**
   * Called as the request reaches its route, before its body is read, at `arrivedNs` (api.ARRIVED).
   * Every observer gets the same stamps, so the trace, the metrics and the journey store agree.
   */
  begin(route: GenerationRoutePath, operation: 'chat' | 'text_completion', requestId: string, headers: IncomingHttpHeaders, arrivedNs: bigint): RequestLifecycle;
}

/** A lifecycle that records nothing: an untraced request, an observer that is off. */
export const NOOP_LIFECYCLE: RequestLifecycle = {
  described() {},
  traceFor: () => undefined,
  handedOff() {},
  firstResponse() {},
  choiceEvent() {},
  departed() {},
  aborted() {},
  logFields: () => ({}),
};

/** Several observers as one; each lifecycle call reaches every one of them, in order. */
export function combineObservers(observers: readonly RequestObserver[]): RequestObserver {
  if (observers.length === 0) return NOOP_OBSERVER;
  if (observers.length === 1) return observers[0];
  return {
    begin(route, operation, requestId, headers, arrivedNs) {
      const all = observers.map((o) => o.begin(route, operation, requestId, headers, arrivedNs));
      return {
        described: (info) => all.forEach((l) => l.described(info)),
        traceFor: (index) => {
          for (const l of all) {
            const trace = l.traceFor(index);
            if (trace) return trace;
          }
          return undefined;
        },
        handedOff: (ns) => all.forEach((l) => l.handedOff(ns)),
        firstResponse: (ns) => all.forEach((l) => l.firstResponse(ns)),
        choiceEvent: (e) => all.forEach((l) => l.choiceEvent(e)),
        departed: (o, ns) => all.forEach((l) => l.departed(o, ns)),
        aborted: (r, e, o, ns) => all.forEach((l) => l.aborted(r, e, o, ns)),
        logFields: () => Object.assign({}, ...all.map((l) => l.logFields())),
      };
    },
  };
}

export const NOOP_OBSERVER: RequestObserver = { begin: () => NOOP_LIFECYCLE };
