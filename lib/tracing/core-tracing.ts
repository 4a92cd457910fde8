import { ROOT_CONTEXT, SpanKind, type Attributes, type Span } from '@opentelemetry/api';
import type { LifecycleEvent } from '../engine/lifecycle.js';
import type { Logger } from '../util/logger.js';
import { contextFromCarrier } from './carrier.js';
import { ATTR, CORE_EVENT_PREFIX, SCOPE, SPAN } from './names.js';
import { threadTracing, type ThreadTracing } from './thread-tracing.js';
import type { TracingConfig } from './tracing-config.js';

/**
 * The engine worker's half of journey tracing: an `llm_core` span per sampled sequence, child of
 * the API span named by the carrier its record brought, with a journey.* event for every
 * lifecycle event. A sequence the API thread did not sample leaves no state here.
 */
export class CoreTracing {
  /** Open spans by sequence id; every span leaves this map when its FINISHED event arrives. */
  private readonly open = new Map<number, Span>();
  private provider: ThreadTracing | null = null;
  private errors = 0;

  /** Set by the worker loop: publishes this worker's tracing numbers where the API thread reads them. */
  onCountsChanged: () => void = () => {};

  constructor(
    private readonly config: TracingConfig,
    private readonly workerIndex: number,
    private readonly logger: Logger,
  ) {}

  get numOpenSpans(): number {
    return this.open.size;
  }

  get numErrors(): number {
    return this.errors;
  }

  get tracing(): ThreadTracing | null {
    return this.provider;
  }

  readonly onLifecycle = (event: LifecycleEvent): void => {
    try {
      if (event.type === 'QUEUED') this.start(event);
      const span = this.open.get(event.seqId);
      if (!span) return;
      if (event.type === 'FINISHED') this.open.delete(event.seqId); // untrack first, whatever follows
      try {
        span.addEvent(CORE_EVENT_PREFIX + event.type, attributesOf(event));
      } finally {
        if (event.type === 'FINISHED') span.end();
      }
    } catch (err) {
      this.errors++;
      this.logger.warnOnce(`core-tracing:${String(err)}`, 'journey tracing failed in an engine worker; generation is not affected', { error: String(err) });
    }
  };

  /** Exports every finished span now (bounded by the shutdown timeout). */
  async flush(): Promise<void> {
    await this.provider?.flush();
  }

  /** Ends spans still open (their worker is stopping), then flushes the exporter. */
  async shutdown(): Promise<void> {
    for (const span of this.open.values()) span.end();
    this.open.clear();
    const provider = this.provider;
    this.provider = null;
    await provider?.release();
  }

  private start(event: LifecycleEvent): void {
    const trace = event.trace;
    if (!trace?.sampled) return;
    const parent = contextFromCarrier(trace.carrier);
    if (!parent) this.logger.warnOnce('core-tracing:carrier', 'a traced request arrived without a valid carrier; its core span starts a new trace');
    this.provider ??= threadTracing(
      this.config,
      { name: `engine-worker-${this.workerIndex}`, workerIndex: this.workerIndex, onCountsChanged: () => this.onCountsChanged() },
      this.logger,
    );
    const attributes: Attributes = { [ATTR.requestId]: event.requestId };
    if (trace.choiceIndex !== undefined) attributes[ATTR.choiceIndex] = trace.choiceIndex;
    const span = this.provider.tracer(SCOPE.core).startSpan(SPAN.core, { kind: SpanKind.INTERNAL, attributes }, parent ?? ROOT_CONTEXT);
    this.open.set(event.seqId, span);
  }
}

function attributesOf(e: LifecycleEvent): Attributes {
  const a: Attributes = {
    [ATTR.eventType]: e.type,
    [ATTR.tsMonotonic]: Number(e.tsNs) / 1e9,
    [ATTR.tsMonotonicNs]: Number(e.tsNs),
    [ATTR.schedulerStep]: e.step,
    [ATTR.phase]: e.phase,
    [ATTR.prefillDone]: e.prefillDoneTokens,
    [ATTR.prefillTotal]: e.prefillTotalTokens,
    [ATTR.decodeDone]: e.decodeDoneTokens,
    [ATTR.decodeMax]: e.decodeMaxTokens,
    [ATTR.numPreemptions]: e.numPreemptions,
  };
  if (e.scheduleKind) a[ATTR.scheduleKind] = e.scheduleKind;
  if (e.finishStatus) a[ATTR.finishStatus] = e.finishStatus;
  return a;
}
