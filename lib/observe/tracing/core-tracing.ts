import { ROOT_CONTEXT, SpanKind, type Attributes, type Link, type Span, type SpanContext } from '@opentelemetry/api';
import type { LifecycleEvent } from '../../engine/lifecycle.js';
import type { StepProfile } from '../../engine/step-profile.js';
import type { Logger } from '../../util/logger.js';
import { contextFromCarrier } from './carrier.js';
import { ATTR, CORE_EVENT_PREFIX, SCOPE, SPAN } from './names.js';
import { SpanTracker } from './span-tracker.js';
import type { TracingConfig } from './tracing-config.js';

/**
 * The engine worker's half of journey tracing: an `llm_core` span per sampled sequence, child of
 * the API span named by the carrier its record brought, with a journey.* event for every
 * lifecycle event. A sequence the API thread did not sample leaves no state here.
 */
export class CoreTracing extends SpanTracker<number, Span> {
  /** Set by the worker loop: publishes this worker's tracing numbers where the API thread reads them. */
  onCountsChanged: () => void = () => {};
  /** Core spans that ended during the current step, so that its step span can still link them. */
  private readonly endedThisStep = new Map<number, SpanContext>();

  constructor(config: TracingConfig, workerIndex: number, logger: Logger) {
    super(config, logger, `engine-worker-${workerIndex}`, workerIndex);
  }

  protected override countsChanged(): void {
    this.onCountsChanged();
  }

  readonly onLifecycle = (event: LifecycleEvent): void => {
    try {
      if (event.type === 'QUEUED') this.start(event);
      const span = this.open.get(event.seqId);
      if (!span) return;
      if (event.type === 'FINISHED') {
        this.open.delete(event.seqId); // untrack first, whatever follows
        if (this.config.stepSampleRate > 0) this.endedThisStep.set(event.seqId, span.spanContext());
      }
      try {
        span.addEvent(CORE_EVENT_PREFIX + event.type, attributesOf(event));
      } finally {
        if (event.type === 'FINISHED') span.end();
      }
    } catch (err) {
      this.fault(String(err), err, 'journey tracing failed in an engine worker; generation is not affected');
    }
  };

  /** Whether the next engine step gets an llm_step span: the worker's own decision, per step. */
  stepSampled(): boolean {
    this.endedThisStep.clear(); // a new step begins
    return this.config.stepSampleRate > 0 && Math.random() < this.config.stepSampleRate;
  }

  /**
   * An llm_step span for a sampled step (docs/journey-tracing.md §7): a root span from the start of schedule() to the
   * outputs written to the ring, with one link to the llm_core span of every traced request in
   * its batch. Times are epoch milliseconds (high resolution).
   */
  recordStep(profile: StepProfile, startMs: number, outputStartMs: number, endMs: number): void {
    try {
      const links: Link[] = [];
      for (const { seqId, requestId } of profile.batch) {
        const context = this.open.get(seqId)?.spanContext() ?? this.endedThisStep.get(seqId);
        if (context) links.push({ context, attributes: { [ATTR.requestId]: requestId } });
      }
      const span = this.tracer(SCOPE.core).startSpan(
        SPAN.step,
        {
          kind: SpanKind.INTERNAL,
          startTime: startMs,
          links,
          attributes: {
            [ATTR.schedulerStep]: profile.step,
            [ATTR.batchNumSeqs]: profile.numSeqs,
            [ATTR.batchNumPrefillSeqs]: profile.numPrefillSeqs,
            [ATTR.batchNumDecodeSeqs]: profile.numDecodeSeqs,
            [ATTR.batchNumPrefillTokens]: profile.numPrefillTokens,
            [ATTR.batchNumDecodeTokens]: profile.numDecodeTokens,
            [ATTR.kvBlocksUsed]: profile.kvBlocksUsed,
            [ATTR.kvBlocksFree]: profile.kvBlocksFree,
            [ATTR.batchNumPreempted]: profile.numPreempted,
            [ATTR.stepScheduleMs]: profile.scheduleMs,
            [ATTR.stepForwardMs]: profile.forwardMs,
            [ATTR.stepSampleMs]: profile.sampleMs,
            [ATTR.stepOutputMs]: endMs - outputStartMs,
          },
        },
        ROOT_CONTEXT,
      );
      span.end(endMs);
    } catch (err) {
      this.fault('step-span', err, 'journey tracing failed in an engine worker; generation is not affected');
    }
  }

  /** Ends spans still open (their worker is stopping), then flushes the exporter. */
  async shutdown(): Promise<void> {
    for (const span of this.open.values()) span.end();
    this.open.clear();
    await this.releaseProvider();
  }

  private start(event: LifecycleEvent): void {
    const trace = event.trace;
    if (!trace) return;
    const parent = contextFromCarrier(trace.carrier);
    if (!parent) this.logger.warnOnce('core-tracing:carrier', 'a traced request arrived without a valid carrier; its core span starts a new trace');
    const attributes: Attributes = { [ATTR.requestId]: event.requestId };
    if (trace.choiceIndex !== undefined) attributes[ATTR.choiceIndex] = trace.choiceIndex;
    const span = this.tracer(SCOPE.core).startSpan(SPAN.core, { kind: SpanKind.INTERNAL, attributes }, parent ?? ROOT_CONTEXT);
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
