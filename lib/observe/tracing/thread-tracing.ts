import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Logger } from '../../util/logger.js';
import { raceTimeout } from '../../util/race-timeout.js';
import { BatchSizeCap } from './batch-size-cap.js';
import { installGrpcConnectDeadline } from './grpc-connect-deadline.js';
import { RESOURCE_ATTR } from './names.js';
import { CountingExporter, dropCountingMeterProvider, type SpanCounts } from './span-stats.js';
import type { TracingConfig } from './tracing-config.js';

/** This thread's tracer provider, its span counts, and a bounded shutdown. */
export interface ThreadTracing {
  tracer(scope: string): Tracer;
  readonly counts: Readonly<SpanCounts>;
  /** Exports every finished span now; resolves when done or after the shutdown timeout. */
  flush(): Promise<void>;
  /**
   * Gives back one user's hold on the provider; the last one exports what is left (waiting at
   * most the configured shutdown timeout) and shuts it down.
   */
  release(): Promise<void>;
}

export interface ThreadIdentity {
  /** "api" or "engine-worker-<index>" */
  readonly name: string;
  readonly workerIndex?: number;
  /** Called whenever the span counts change (an export ended, spans were dropped). */
  readonly onCountsChanged?: () => void;
}

/*
 * One provider per thread, created on first need; while it lives, a second call returns it and
 * only counts one more user. Module state is per thread in Node, which is exactly the scope the
 * contract asks for. Nothing is registered globally; callers get tracers from here and pass
 * parent contexts explicitly, so no global carries context between requests or threads. When the
 * last user releases it, it is flushed and shut down, and a later user starts a new one (a server
 * closed and another started in the same process).
 */
interface Shared extends ThreadTracing {
  readonly config: TracingConfig;
  users: number;
}

let current: Shared | null = null;

export function threadTracing(config: TracingConfig, thread: ThreadIdentity, logger: Logger): ThreadTracing {
  if (current) {
    current.users++;
    if (current.config.endpoint !== config.endpoint || current.config.serviceName !== config.serviceName) {
      logger.warnOnce('tracing-provider-reused', "this thread's tracer provider already exists; its endpoint and service name stay as first configured", {
        endpoint: current.config.endpoint,
      });
    }
    return current;
  }
  // a connection that cannot finish its handshake within one export's time will not serve it
  installGrpcConnectDeadline(config.exportTimeoutMs, logger);
  const counts: SpanCounts = { exported: 0, dropped: 0, failed: 0 };
  const onChange = thread.onCountsChanged ?? (() => {});
  const batchSize = Math.min(512, config.maxQueueSize);
  const exporter = new BatchSizeCap(
    new CountingExporter(
      // a flush sends the whole queue at once, in batches: room for exactly that many, so that a
      // collector that never answers still holds no more than one queue's worth of spans
      new OTLPTraceExporter({ url: config.endpoint, timeoutMillis: config.exportTimeoutMs, concurrencyLimit: Math.ceil(config.maxQueueSize / batchSize) + 1 }),
      counts,
      logger,
      onChange,
    ),
  );
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      'service.name': config.serviceName,
      'service.version': config.serviceVersion,
      'service.instance.id': config.serviceInstanceId,
      [RESOURCE_ATTR.threadName]: thread.name,
      ...(thread.workerIndex !== undefined ? { [RESOURCE_ATTR.workerIndex]: thread.workerIndex } : {}),
    }),
    // the sampling decision is made before a span is started; only sampled requests get one
    sampler: new AlwaysOnSampler(),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter,
        maxQueueSize: config.maxQueueSize,
        maxExportBatchSize: batchSize,
        scheduledDelayMillis: 500,
        exportTimeoutMillis: config.exportTimeoutMs,
        selfObsMeterProvider: dropCountingMeterProvider(counts, logger, onChange),
      }),
    ],
  });
  const self: Shared = {
    config,
    users: 1,
    tracer: (scope: string) => provider.getTracer(scope, config.serviceVersion),
    counts,
    flush: () => bounded(provider.forceFlush(), config.shutdownTimeoutMs, logger, 'flush'),
    release: async () => {
      if (--self.users > 0) return;
      if (current === self) current = null;
      await bounded(provider.shutdown(), config.shutdownTimeoutMs, logger, 'shutdown');
    },
  };
  current = self;
  return self;
}

/** Waits for `work` at most `timeoutMs`; what does not make it in time is dropped, and said so once. */
async function bounded(work: Promise<void>, timeoutMs: number, logger: Logger, what: string): Promise<void> {
  try {
    if (!(await raceTimeout(work, timeoutMs))) logger.warnOnce(`trace-${what}-timeout`, `trace export did not finish within the ${what} timeout; the rest is dropped`, { timeoutMs });
  } catch (err) {
    logger.warnOnce(`trace-export:${(err as Error).message ?? String(err)}`, `trace export failed at ${what}; what was left is dropped`, { error: String(err) });
  }
}
