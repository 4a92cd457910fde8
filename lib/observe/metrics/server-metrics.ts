import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AbortReason, ChoiceEvent, GenerationRoutePath, RequestInfo, RequestLifecycle, RequestObserver, RequestOutcome } from '../request-observer.js';
import type { EngineStats } from '../../engine/engine.js';
import { nsToSeconds } from '../../util/clock.js';
import { PROVIDER_NAME } from '../tracing/names.js';

/** Tracing numbers of one thread, for the journey_tracing_* metrics. */
export interface ThreadTracingStats {
  readonly thread: string;
  readonly openSpans: number;
  readonly exported: number;
  readonly dropped: number;
  readonly failed: number;
}

export interface MetricsSources {
  readonly engineStats: () => EngineStats;
  /** Per-thread tracing numbers; empty when tracing is off. */
  readonly tracingStats: () => readonly ThreadTracingStats[];
  readonly servedModelName: string;
}

/** Labels of the gen_ai_server_* histograms: gen_ai.operation.name and gen_ai.provider.name are required by the conventions. */
const SEMCONV_LABELS = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_response_model'];

// bucket boundaries of the OpenTelemetry GenAI semantic conventions, extended for CPU inference
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const TPOT_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 10];
const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, 163.84, 327.68];

/**
 * Prometheus metrics of the server, as a request observer: latencies come from the API thread's
 * own monotonic stamps and from the lifecycle stamps the engine sends with each request's last
 * output; gauges are read from the engine when scraped. Works whether tracing is on or off.
 */
export class ServerMetrics implements RequestObserver {
  readonly registry = new Registry();
  /** The GenAI conventions' required and recommended labels that do not change per request. */
  private readonly labels: { gen_ai_provider_name: string; gen_ai_request_model: string; gen_ai_response_model: string };

  private readonly promptTokens = this.counter('journey_prompt_tokens_total', 'Prompt tokens processed.');
  private readonly generationTokens = this.counter('journey_generation_tokens_total', 'Tokens generated.');
  private readonly finished = this.counter('journey_requests_finished_total', 'Completions (choices) finished, by finish reason.', ['finish_reason']);
  private readonly aborted = this.counter('journey_requests_aborted_total', 'Requests the engine took that ended without success, by reason.', ['reason']);
  private readonly rejected = this.counter('journey_requests_rejected_total', 'Requests refused before they reached the engine (invalid, too long, overloaded, shutting down), by reason.', ['reason']);
  private readonly connectionsClosed = this.counter('journey_connections_closed_total', 'Connections the server closed because their client stopped reading (stalled) or pipelined too many requests unread (pipelined).', ['reason']);
  /** Running totals of the token counters, for the periodic engine log line. */
  private tokenTotals = { prompt: 0, generation: 0 };
  private readonly ttft = this.histogram('journey_time_to_first_token_seconds', 'Arrival to the first output reaching the API thread.', TTFT_BUCKETS);
  private readonly itl = this.histogram('journey_inter_token_latency_seconds', 'Time between consecutive outputs of one completion, on the engine clock.', TPOT_BUCKETS);
  private readonly tpot = this.histogram('journey_time_per_output_token_seconds', 'Decode time over output tokens after the first, per completion.', TPOT_BUCKETS);
  private readonly e2e = this.histogram('journey_e2e_request_latency_seconds', 'Arrival to the end of the response, every finished request.', DURATION_BUCKETS);
  private readonly queueTime = this.histogram('journey_request_queue_time_seconds', 'Engine queue to first batch slot, per completion.', DURATION_BUCKETS);
  private readonly prefillTime = this.histogram('journey_request_prefill_time_seconds', 'First batch slot to first token, per completion.', DURATION_BUCKETS);
  private readonly decodeTime = this.histogram('journey_request_decode_time_seconds', 'First token to finish, per completion.', DURATION_BUCKETS);
  private readonly semconvTtft = this.histogram('gen_ai_server_time_to_first_token_seconds', 'gen_ai.server.time_to_first_token', TTFT_BUCKETS, SEMCONV_LABELS);
  private readonly semconvTpot = this.histogram('gen_ai_server_time_per_output_token_seconds', 'gen_ai.server.time_per_output_token', TPOT_BUCKETS, SEMCONV_LABELS);
  private readonly semconvDuration = this.histogram('gen_ai_server_request_duration_seconds', 'gen_ai.server.request.duration', DURATION_BUCKETS, [...SEMCONV_LABELS, 'error_type']);

  constructor(private readonly sources: MetricsSources) {
    this.labels = { gen_ai_provider_name: PROVIDER_NAME, gen_ai_request_model: sources.servedModelName, gen_ai_response_model: sources.servedModelName };
    collectDefaultMetrics({ register: this.registry });
    this.engineGauges();
    this.tracingMetrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  begin(_route: GenerationRoutePath, operation: 'chat' | 'text_completion', _requestId: string, _headers: unknown, arrivedNs: bigint): RequestLifecycle {
    return new RequestMetrics(this, operation, arrivedNs);
  }

  /** A connection closed by the server for how its client behaved (see ConnectionGuard). */
  connectionClosed(reason: 'stalled' | 'pipelined'): void {
    this.connectionsClosed.inc({ reason });
  }

  /** Prompt and generated tokens counted since the server started. */
  get totals(): { readonly prompt: number; readonly generation: number } {
    return { ...this.tokenTotals };
  }

  /** @internal called by RequestMetrics */
  record(r: RequestMetrics, outcome: RequestOutcome | null, reason: AbortReason | null, end: bigint): void {
    if (!r.reachedEngine && reason !== null) {
      // refused before any work: counted by why, and nowhere else (no tokens, no latencies)
      this.rejected.inc({ reason });
      return;
    }
    const labels = { ...this.labels, gen_ai_operation_name: r.operation };
    if (r.firstResponseNs !== null) {
      const ttft = nsToSeconds(r.firstResponseNs - r.arrivalNs);
      this.ttft.observe(ttft);
      this.semconvTtft.observe(labels, ttft);
    }
    const e2e = nsToSeconds(end - r.arrivalNs);
    this.e2e.observe(e2e);
    this.semconvDuration.observe({ ...labels, error_type: reason ?? '' }, e2e);
    const generated = outcome?.completionTokens ?? r.completionTokens;
    this.promptTokens.inc(r.promptTokens);
    this.generationTokens.inc(generated);
    this.tokenTotals.prompt += r.promptTokens;
    this.tokenTotals.generation += generated;
    if (reason === null) return;
    this.aborted.inc({ reason });
    const failedAs = reason === 'engine_failure' || reason === 'generation_error' || reason === 'exception' ? 'error' : 'abort';
    const unfinished = Math.max(0, r.numChoices - r.numFinishedChoices);
    if (unfinished > 0) this.finished.inc({ finish_reason: failedAs }, unfinished);
  }

  /** @internal called by RequestMetrics for each choice's events */
  recordChoice(r: RequestMetrics, e: ChoiceEvent, previousTsNs: bigint | undefined): void {
    if (previousTsNs !== undefined && e.tsNs !== undefined) this.itl.observe(nsToSeconds(e.tsNs - previousTsNs));
    if (e.finishReason === null) return;
    this.finished.inc({ finish_reason: e.finishReason });
    const s = e.stamps;
    if (!s) return;
    if (s.scheduledNs !== null) this.queueTime.observe(nsToSeconds(s.scheduledNs - s.queuedNs));
    if (s.scheduledNs !== null && s.firstTokenNs !== null) this.prefillTime.observe(nsToSeconds(s.firstTokenNs - s.scheduledNs));
    if (s.firstTokenNs !== null && s.finishedNs !== null) {
      this.decodeTime.observe(nsToSeconds(s.finishedNs - s.firstTokenNs));
      const tokens = r.choiceTokens.get(e.index) ?? 0;
      if (tokens > 1) {
        const tpot = nsToSeconds(s.finishedNs - s.firstTokenNs) / (tokens - 1);
        this.tpot.observe(tpot);
        this.semconvTpot.observe({ ...this.labels, gen_ai_operation_name: r.operation }, tpot);
      }
    }
  }

  private engineGauges(): void {
    const stats = () => this.sources.engineStats();
    this.gauge('journey_num_requests_running', 'Sequences in engine batches now.', function () {
      this.set(stats().numRunning);
    });
    this.gauge('journey_num_requests_waiting', 'Sequences waiting for a batch slot.', function () {
      this.set(stats().numWaiting);
    });
    this.gauge('journey_kv_cache_usage_ratio', 'Fraction of KV cache blocks in use (0 to 1).', function () {
      this.set(stats().kvCacheUsage);
    });
    let lastPreemptions = 0;
    new Counter({
      name: 'journey_num_preemptions_total',
      help: 'Sequences preempted to free KV cache blocks.',
      registers: [this.registry],
      collect() {
        const total = stats().numPreemptions;
        if (total > lastPreemptions) this.inc(total - lastPreemptions);
        lastPreemptions = Math.max(lastPreemptions, total);
      },
    });
  }

  private tracingMetrics(): void {
    const sources = this.sources;
    this.gauge(
      'journey_tracing_open_spans',
      'Journey spans begun and not yet ended, per thread: zero whenever the server is idle.',
      function () {
        this.reset();
        for (const t of sources.tracingStats()) this.set({ thread: t.thread }, t.openSpans);
      },
      ['thread'],
    );
    for (const [field, name, help] of [
      ['exported', 'journey_tracing_spans_exported_total', 'Spans delivered to the collector, per thread.'],
      ['dropped', 'journey_tracing_spans_dropped_total', 'Spans dropped because the export queue was full, per thread.'],
      ['failed', 'journey_tracing_spans_failed_total', 'Spans the exporter failed to deliver, per thread.'],
    ] as const) {
      const last = new Map<string, number>();
      new Counter({
        name,
        help,
        labelNames: ['thread'],
        registers: [this.registry],
        collect() {
          for (const t of sources.tracingStats()) {
            const previous = last.get(t.thread) ?? 0;
            // a replaced worker counts from zero again
            const delta = t[field] >= previous ? t[field] - previous : t[field];
            if (delta > 0) this.inc({ thread: t.thread }, delta);
            last.set(t.thread, t[field]);
          }
        },
      });
    }
  }

  private counter(name: string, help: string, labelNames: string[] = []): Counter<string> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram(name: string, help: string, buckets: number[], labelNames: string[] = []): Histogram<string> {
    return new Histogram({ name, help, buckets, labelNames, registers: [this.registry] });
  }

  private gauge(name: string, help: string, collect: (this: Gauge<string>) => void, labelNames: string[] = []): void {
    new Gauge({ name, help, labelNames, registers: [this.registry], collect });
  }
}

/** One request's numbers as it goes; reported once, when it departs or aborts. */
class RequestMetrics implements RequestLifecycle {
  firstResponseNs: bigint | null = null;
  promptTokens = 0;
  completionTokens = 0;
  numChoices = 1;
  numFinishedChoices = 0;
  readonly choiceTokens = new Map<number, number>();
  private readonly lastTsNs = new Map<number, bigint>();
  private done = false;

  constructor(
    private readonly metrics: ServerMetrics,
    readonly operation: 'chat' | 'text_completion',
    readonly arrivalNs: bigint,
  ) {}

  described(info: RequestInfo): void {
    this.promptTokens = info.promptTokens ?? 0;
    this.numChoices = (info.n ?? 1) * Math.max(1, info.numPrompts ?? 1);
  }

  traceFor() {
    return undefined;
  }

  /** Whether every engine request was submitted: a request refused before that did no work. */
  reachedEngine = false;

  handedOff(): void {
    this.reachedEngine = true;
  }

  firstResponse(atNs: bigint): void {
    this.firstResponseNs ??= atNs;
  }

  choiceEvent(e: ChoiceEvent): void {
    this.completionTokens += e.tokenIds.length;
    this.choiceTokens.set(e.index, (this.choiceTokens.get(e.index) ?? 0) + e.tokenIds.length);
    if (e.finishReason !== null) this.numFinishedChoices++;
    this.metrics.recordChoice(this, e, this.lastTsNs.get(e.index));
    if (e.tsNs !== undefined) this.lastTsNs.set(e.index, e.tsNs);
  }

  departed(outcome: RequestOutcome, atNs: bigint): void {
    if (this.done) return;
    this.done = true;
    this.metrics.record(this, outcome, null, atNs);
  }

  aborted(reason: AbortReason, _error: unknown, outcome: RequestOutcome | null, atNs: bigint): void {
    if (this.done) return;
    this.done = true;
    this.metrics.record(this, outcome, reason, atNs);
  }

  logFields() {
    return {};
  }
}

