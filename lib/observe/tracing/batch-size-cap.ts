import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';

/** An export request above this many (estimated) bytes is split: collectors refuse large messages (gRPC's default is 4 MiB), and lose every span in them. */
export const MAX_EXPORT_BYTES = 1 << 20;

/**
 * Splits each batch into exports of at most `maxBytes` estimated bytes, sent one after the other,
 * so that no single export can exceed what a collector accepts however many spans a batch holds.
 * The batch succeeds when every part does; each part is counted by the exporter inside.
 */
export class BatchSizeCap implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly maxBytes = MAX_EXPORT_BYTES,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const parts: ReadableSpan[][] = [[]];
    let bytes = 0;
    for (const span of spans) {
      const size = estimateBytes(span);
      if (bytes + size > this.maxBytes && parts[parts.length - 1].length > 0) {
        parts.push([]);
        bytes = 0;
      }
      parts[parts.length - 1].push(span);
      bytes += size;
    }
    let failure: ExportResult | null = null;
    const next = (i: number) => {
      if (i === parts.length) return done(failure ?? { code: 0 });
      this.inner.export(parts[i], (result) => {
        if (result.code !== 0) failure ??= result;
        next(i + 1);
      });
    };
    next(0);
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** Roughly what a span costs on the wire: its strings and a fixed overhead per value. */
export function estimateBytes(span: ReadableSpan): number {
  let bytes = 128 + span.name.length;
  const attributes = (a: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(a)) bytes += 16 + k.length + (typeof v === 'string' ? v.length : Array.isArray(v) ? v.reduce((n: number, x) => n + 16 + String(x).length, 0) : 16);
  };
  attributes(span.attributes);
  for (const e of span.events) {
    bytes += 32 + e.name.length;
    attributes(e.attributes ?? {});
  }
  for (const l of span.links) {
    bytes += 64;
    attributes(l.attributes ?? {});
  }
  return bytes;
}
