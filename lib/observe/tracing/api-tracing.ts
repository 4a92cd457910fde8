import { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import type { IncomingHttpHeaders } from 'node:http';
import { NOOP_LIFECYCLE, type AbortReason, type GenerationRoutePath, type RequestInfo, type RequestLifecycle, type RequestObserver, type RequestOutcome } from '../request-observer.js';
import type { TraceCarrier } from '../../engine/trace-options.js';
import { boundText } from '../../util/bound-text.js';
import type { Logger } from '../../util/logger.js';
import { extractClientContext, injectCarrier } from './carrier.js';
import { API_EVENT, ATTR, PROVIDER_NAME, SCOPE, SPAN } from './names.js';
import { SpanTracker } from './span-tracker.js';
import type { TracingConfig } from './tracing-config.js';
import { monotonicNs } from '../../util/clock.js';

/** An untraced request: no span and no per-request state on any thread. */
const UNTRACED = NOOP_LIFECYCLE;

function monotonic(ns: bigint = monotonicNs()): Attributes {
  return { [ATTR.eventTsMonotonic]: Number(ns) / 1e9, [ATTR.eventTsMonotonicNs]: Number(ns) };
}

/**
 * The API thread's half of journey tracing: an `llm_request` span per sampled request, its
 * api.* events, and the carrier that parents the engine's `llm_core` spans. Sampling is decided
 * here, once: a client's sampled flag is obeyed either way, otherwise the sample rate decides.
 * Tracing failures are logged once per cause and counted; they never reach the request.
 */
export class ApiTracing extends SpanTracker<number, ApiSpanLifecycle> implements RequestObserver {
  /** Open spans are keyed by a number of this thread's own: clients choose request ids, and may repeat them. */
  private nextKey = 1;

  constructor(
    config: TracingConfig,
    logger: Logger,
    private readonly random: () => number = Math.random,
  ) {
    super(config, logger, 'api');
  }

  begin(route: GenerationRoutePath, operation: 'chat' | 'text_completion', requestId: string, headers: IncomingHttpHeaders, arrivedNs: bigint): RequestLifecycle {
    try {
      const client = extractClientContext(headers);
      if (client === null && headers.traceparent !== undefined) this.failed('traceparent', 'ignoring a malformed traceparent header');
      const sampled = client ? client.sampled : this.random() < this.config.sampleRate;
      if (!sampled) return UNTRACED;
      const span = this.tracer(SCOPE.api).startSpan(
        SPAN.request,
        { kind: SpanKind.SERVER, attributes: { [ATTR.requestId]: requestId, [ATTR.httpRoute]: route, [ATTR.operationName]: operation, [ATTR.providerName]: PROVIDER_NAME } },
        client?.context ?? ROOT_CONTEXT,
      );
      span.addEvent(API_EVENT.arrived, monotonic(arrivedNs));
      const key = this.nextKey++;
      const lifecycle = new ApiSpanLifecycle(span, injectCarrier(span), () => this.open.delete(key), (cause, err) => this.failed(cause, err));
      this.open.set(key, lifecycle);
      return lifecycle;
    } catch (err) {
      this.failed('begin', err);
      return UNTRACED;
    }
  }

  /** Ends every span still open (their requests are being cut short), then flushes the exporter. */
  async shutdown(): Promise<void> {
    for (const lifecycle of [...this.open.values()]) lifecycle.aborted('server_shutdown', new Error('the server shut down'), null, monotonicNs());
    await this.releaseProvider();
  }

  private failed(cause: string, err: unknown): void {
    this.fault(cause, err, 'journey tracing failed; the request goes on untraced from here');
  }
}

class ApiSpanLifecycle implements RequestLifecycle {
  private sentFirst = false;

  constructor(
    private readonly span: Span,
    private readonly carrier: TraceCarrier,
    private readonly untrack: () => boolean,
    private readonly fault: (cause: string, err: unknown) => void,
  ) {}

  described(info: RequestInfo): void {
    this.guard('described', () => {
      const a: Attributes = { [ATTR.requestModel]: info.requestedModel, [ATTR.responseModel]: info.servedModel };
      if (info.temperature !== undefined) a[ATTR.temperature] = info.temperature;
      if (info.topP !== undefined) a[ATTR.topP] = info.topP;
      if (info.maxTokens !== undefined && info.maxTokens !== null) a[ATTR.maxTokens] = info.maxTokens;
      if (info.n !== undefined) {
        a[ATTR.n] = info.n; // the contract's name
        a[ATTR.choiceCount] = info.n; // the conventions' name for it
      }
      // an integer attribute, as the conventions type it
      if (info.topK !== undefined) a[ATTR.topK] = Math.trunc(info.topK);
      if (info.presencePenalty !== undefined) a[ATTR.presencePenalty] = info.presencePenalty;
      if (info.frequencyPenalty !== undefined) a[ATTR.frequencyPenalty] = info.frequencyPenalty;
      if (info.responseId !== undefined) a[ATTR.responseId] = info.responseId;
      if (info.seed !== undefined) a[ATTR.seed] = info.seed;
      if (info.stream !== undefined) a[ATTR.stream] = info.stream;
      if (info.promptTokens !== undefined) a[ATTR.inputTokens] = info.promptTokens;
      this.span.setAttributes(a);
    });
  }

  traceFor(index: number) {
    return { carrier: this.carrier, choiceIndex: index };
  }

  handedOff(committedNs: bigint): void {
    this.guard('handoff', () => this.span.addEvent(API_EVENT.handoff, monotonic(committedNs)));
  }

  firstResponse(atNs: bigint): void {
    if (this.sentFirst) return;
    this.sentFirst = true;
    this.guard('first-response', () => this.span.addEvent(API_EVENT.firstResponse, monotonic(atNs)));
  }

  choiceEvent(): void {}

  departed(outcome: RequestOutcome, atNs: bigint): void {
    this.finish(outcome, () => this.span.addEvent(API_EVENT.departed, monotonic(atNs)));
  }

  aborted(reason: AbortReason, error: unknown, outcome: RequestOutcome | null, atNs: bigint): void {
    // error messages may quote what the client sent: bounded, whatever made them
    const message = boundText(error instanceof Error ? error.message : error === undefined ? '' : String(error));
    this.finish(outcome, () => {
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: message || reason });
      this.span.addEvent(API_EVENT.aborted, { ...monotonic(atNs), [ATTR.reason]: reason, ...(message ? { [ATTR.error]: message } : {}) });
    });
  }

  logFields() {
    const { traceId, spanId } = this.span.spanContext();
    return { trace_id: traceId, span_id: spanId };
  }

  /**
   * The one finalizer: untracks first (so only the first caller acts), sets what is known, emits
   * the terminal event if the span records, and always ends the span, even if a step threw.
   */
  private finish(outcome: RequestOutcome | null, terminal: () => void): void {
    if (!this.untrack()) return;
    try {
      if (outcome) {
        this.span.setAttributes({
          [ATTR.outputTokens]: outcome.completionTokens,
          [ATTR.finishReasons]: outcome.finishReasons.map((r) => r ?? 'none'),
        });
      }
      if (this.span.isRecording()) terminal();
    } catch (err) {
      this.fault('finish', err);
    } finally {
      try {
        this.span.end();
      } catch (err) {
        this.fault('end', err);
      }
    }
  }

  private guard(cause: string, action: () => void): void {
    try {
      action();
    } catch (err) {
      this.fault(cause, err);
    }
  }
}
