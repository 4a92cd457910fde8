/** W3C trace context of a request's API span, as carried to the engine that serves it. */
export interface TraceCarrier {
  readonly traceparent: string;
  readonly tracestate: string;
}

/**
 * Tracing inputs of one engine request that the API thread decided to trace (never a client's
 * decision). A request that is not traced has none.
 */
export interface TraceOptions {
  /** The API span to parent the core span on; null when it could not be injected. */
  readonly carrier: TraceCarrier | null;
  /** Choice index, for requests with n > 1 or several prompts. */
  readonly choiceIndex?: number;
}
