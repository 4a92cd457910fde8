/** W3C trace context of a request's API span, as carried to the engine that serves it. */
export interface TraceCarrier {
  readonly traceparent: string;
  readonly tracestate: string;
}

/** Tracing inputs of one engine request, decided on the API thread (never by a client). */
export interface TraceOptions {
  readonly carrier: TraceCarrier | null;
  /** Whether the engine records a core span for this request. */
  readonly sampled: boolean;
  /** Choice index, for requests with n > 1 or several prompts. */
  readonly choiceIndex?: number;
}
