import type { Tracer } from '@opentelemetry/api';
import type { Logger } from '../../util/logger.js';
import { threadTracing, type ThreadTracing } from './thread-tracing.js';
import type { TracingConfig } from './tracing-config.js';

/**
 * What both halves of journey tracing share: the spans open on this thread (a map that is empty
 * whenever the thread is idle), the tracing faults counted and logged once per cause, and this
 * thread's tracer provider, acquired on first need and released at shutdown.
 */
export abstract class SpanTracker<Key, Entry> {
  protected readonly open = new Map<Key, Entry>();
  private errors = 0;
  private provider: ThreadTracing | null = null;

  constructor(
    protected readonly config: TracingConfig,
    protected readonly logger: Logger,
    private readonly threadName: string,
    private readonly workerIndex?: number,
  ) {}

  get numOpenSpans(): number {
    return this.open.size;
  }

  get numErrors(): number {
    return this.errors;
  }

  /** This thread's exporter and its span counts (null until the first span). */
  get tracing(): ThreadTracing | null {
    return this.provider;
  }

  /** Exports every finished span now (bounded by the shutdown timeout). */
  async flush(): Promise<void> {
    await this.provider?.flush();
  }

  /** Called whenever this thread's span counts change; subclasses may publish them. */
  protected countsChanged(): void {}

  protected tracer(scope: string): Tracer {
    this.provider ??= threadTracing(
      this.config,
      { name: this.threadName, ...(this.workerIndex !== undefined ? { workerIndex: this.workerIndex } : {}), onCountsChanged: () => this.countsChanged() },
      this.logger,
    );
    return this.provider.tracer(scope);
  }

  protected async releaseProvider(): Promise<void> {
    const provider = this.provider;
    this.provider = null;
    await provider?.release();
  }

  protected fault(cause: string, err: unknown, message: string): void {
    this.errors++;
    this.logger.warnOnce(`tracing:${cause}`, message, { cause, error: String(err) });
  }
}
