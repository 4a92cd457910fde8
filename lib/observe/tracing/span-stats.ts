import { createNoopMeter, type Counter, type Meter, type MeterProvider } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { Logger } from '../../util/logger.js';

/** What became of a thread's finished spans. */
export interface SpanCounts {
  exported: number;
  /** Dropped because the export queue was full (collector slow or down). */
  dropped: number;
  /** Handed to the exporter, which failed to deliver them. */
  failed: number;
}

const PROCESSED_SPANS = 'otel.sdk.processor.span.processed';

/**
 * A MeterProvider for the BatchSpanProcessor's self-observability hook (`selfObsMeterProvider`),
 * which reports every span it drops for a full queue; everything else is a no-op.
 */
export function dropCountingMeterProvider(counts: SpanCounts, logger: Logger, onChange: () => void): MeterProvider {
  const noop = createNoopMeter();
  const processed: Counter = {
    add(value, attributes) {
      if (attributes?.['error.type'] !== 'queue_full') return;
      counts.dropped += value;
      onChange();
      logger.warnOnce('trace-queue-full', 'trace export queue full: dropping spans (counted in journey_tracing_spans_dropped_total)');
    },
  };
  const meter = Object.create(noop, {
    createCounter: { value: (name: string, options?: object) => (name === PROCESSED_SPANS ? processed : noop.createCounter(name, options)) },
  }) as Meter;
  return { getMeter: () => meter };
}

/** Wraps an exporter to count what it delivers and what it fails to, logging each failure cause once. */
export class CountingExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly counts: SpanCounts,
    private readonly logger: Logger,
    private readonly onChange: () => void,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === 0) this.counts.exported += spans.length;
      else {
        this.counts.failed += spans.length;
        const cause = result.error?.message ?? 'unknown error';
        this.logger.warnOnce(`trace-export:${cause}`, 'trace export failed; spans are counted and dropped, requests are not affected', { error: cause });
      }
      this.onChange();
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
