import { ROOT_CONTEXT, trace, TraceFlags, type Context, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { TraceCarrier } from '../../engine/trace-options.js';

const propagator = new W3CTraceContextPropagator();

type Headers = Readonly<Record<string, string | readonly string[] | undefined>>;

const getter = {
  keys: (carrier: Headers) => Object.keys(carrier),
  get: (carrier: Headers, key: string) => {
    const value = carrier[key];
    return Array.isArray(value) ? value[0] : (value as string | undefined);
  },
};

/** The client's trace context from its `traceparent`/`tracestate` headers; null when absent or invalid. */
export function extractClientContext(headers: Headers): { context: Context; sampled: boolean } | null {
  if (headers.traceparent === undefined) return null;
  const extracted = propagator.extract(ROOT_CONTEXT, headers, getter);
  const spanContext = trace.getSpanContext(extracted);
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return null;
  return { context: extracted, sampled: (spanContext.traceFlags & TraceFlags.SAMPLED) !== 0 };
}

/** W3C headers naming `span` as the parent of whatever the receiver starts. */
export function injectCarrier(span: Span): TraceCarrier {
  const headers: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, { set: (c, k, v) => (c[k] = v) });
  return { traceparent: headers.traceparent ?? '', tracestate: headers.tracestate ?? '' };
}

/** The parent context a carrier describes; null when the carrier is missing or malformed. */
export function contextFromCarrier(carrier: TraceCarrier | null): Context | null {
  if (!carrier) return null;
  const extracted = propagator.extract(ROOT_CONTEXT, { traceparent: carrier.traceparent, tracestate: carrier.tracestate }, getter);
  const spanContext = trace.getSpanContext(extracted);
  return spanContext && trace.isSpanContextValid(spanContext) ? extracted : null;
}
