import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Engine } from '../engine/engine.js';
import { EngineFailureError } from '../errors.js';
import { defaultServedModelName } from '../models/open-model.js';
import { prepareEngine } from '../engine/resolve-config.js';
import { ServerMetrics, type ThreadTracingStats } from '../observe/metrics/server-metrics.js';
import { JourneyStore } from '../observe/journey/journey-store.js';
import { combineObservers, type RequestObserver } from '../observe/request-observer.js';
import type { ApiTracing } from '../observe/tracing/api-tracing.js';
import { resolveTracingConfig, type TracingConfig, type TracingInput } from '../observe/tracing/tracing-config.js';
import { startPoolEngine, workerCount, type PoolEngine, type PoolEngineOptions } from '../pool/pool-engine.js';
import { ModelLoadError } from '../formats/model-load-error.js';
import { TOKENIZER_POOL_DEFAULTS, TokenizerPool } from '../pool/tokenizer-pool.js';
import { inlinePromptTokenizer, type PromptTokenizer } from '../tokenizer/prompt-tokenizer.js';
import { createLogger, type Logger } from '../util/logger.js';
import { raceTimeout } from '../util/race-timeout.js';
import { createApp } from './app.js';
import { corsProblem, type CorsOptions } from './cors.js';
import { ConnectionGuard } from './connection-guard.js';
import { startEngineLog } from './engine-log.js';
import { CONNECTION_DEFAULTS, connectionLimitsProblem, httpServerOptions, type ConnectionLimits } from './connection-limits.js';
import { defaultAllowedHosts, isLoopbackHost } from './host-check.js';
import { packageVersion } from './routes/info.js';
import { servedModels } from './served-models.js';

export interface ServerOptions extends Omit<PoolEngineOptions, 'tracing'> {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** The model name clients use, or several (the first is primary); defaults to the model's. */
  readonly servedModelName?: string | readonly string[];
  /** Require this bearer key on every route that serves model output or data. */
  readonly apiKey?: string | null;
  /** Require this bearer key on /metrics (open otherwise: it holds no request content). */
  readonly metricsApiKey?: string | null;
  /**
   * Host names requests may be addressed to. Default: when bound to loopback, only loopback
   * names (against DNS rebinding); otherwise any. ["*"] allows any.
   */
  readonly allowedHosts?: readonly string[];
  /** Cross-origin access for browser front ends; off unless given. */
  readonly cors?: CorsOptions;
  readonly maxRequestBodyBytes?: number;
  /** Generations running longer are aborted; 0 = no limit. */
  readonly requestTimeoutSeconds?: number;
  /** Timeouts and the connection cap; each field defaults to CONNECTION_DEFAULTS'. */
  readonly connectionLimits?: Partial<ConnectionLimits>;
  readonly logger?: Logger;
  /** Serve this engine instead of starting a worker pool; the caller keeps ownership of it. */
  readonly engine?: Engine;
  /** Journey tracing (off by default); the standard OTEL_* variables fill what is not given. */
  readonly tracing?: TracingInput;
  /** Seconds between the engine's throughput log lines while busy (vLLM's stats line); 0 = none. Default 10. */
  readonly logStatsIntervalSeconds?: number;
  /** Put the per-request `metrics` object on every response unless a request says include_metrics: false (vLLM's --enable-per-request-metrics). */
  readonly enablePerRequestMetrics?: boolean;
  /** Journeys the server keeps for /v1/journeys and the viewer (default 1000); 0 keeps none. */
  readonly journeyHistory?: number;
  /** Estimated heap bytes the kept journeys may take (default 16 MiB): the oldest are forgotten first. */
  readonly journeyHistoryBytes?: number;
  /** A link the journey viewer gives each traced request, with {trace_id} replaced, e.g. Jaeger's http://localhost:16686/trace/{trace_id}. */
  readonly traceUrlTemplate?: string;
  /** A chat template that renders a conversation for longer is stopped, and its request refused (400); default 2. */
  readonly chatTemplateTimeoutSeconds?: number;
  /** Watches every generation request, beside the server's own metrics and tracing. */
  readonly observer?: RequestObserver;
}

export interface JourneyServer {
  /** The Koa app: mount it elsewhere, or let listen() serve it. */
  readonly app: Koa;
  readonly engine: Engine;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  /** The journeys of recent requests (empty when journeyHistory is 0). */
  readonly journeys: JourneyStore;
  /** Open journey spans on the API thread (0 with tracing off): empty whenever the server is idle. */
  readonly numOpenSpans: number;
  /** Starts listening; resolves with the address once bound. */
  listen(): Promise<{ host: string; port: number; url: string }>;
  /**
   * Stops accepting, gives requests in flight `gracePeriodMs` to finish, aborts the rest (they end
   * with a server_shutdown error), closes every connection and, if the server started it, the engine.
   * Called again while the first call waits, it ends the grace period at once (e.g. a second
   * SIGTERM): requests in flight are aborted and still get their last bytes.
   */
  close(options?: { gracePeriodMs?: number }): Promise<void>;
}

/** Unanswered requests one connection may pipeline before it is closed. */
const MAX_PIPELINED = 16;
const DEFAULT_JOURNEY_HISTORY_BYTES = 16 << 20;

export async function createServer(options: ServerOptions = {}): Promise<JourneyServer> {
  const limits = { ...CONNECTION_DEFAULTS, ...options.connectionLimits };
  const problem = connectionLimitsProblem(limits);
  if (problem !== null) throw new RangeError(problem);
  const corsRefusal = options.cors ? corsProblem(options.cors) : null;
  if (corsRefusal !== null) throw new RangeError(`cors: ${corsRefusal}`);
  // checked before any worker starts, so that a bad option leaves nothing running
  const history = options.journeyHistory ?? 1000;
  if (!Number.isInteger(history) || history < 0 || history > 1_000_000) throw new RangeError('journeyHistory must be an integer from 0 to 1000000');
  const historyBytes = options.journeyHistoryBytes ?? DEFAULT_JOURNEY_HISTORY_BYTES;
  if (!Number.isSafeInteger(historyBytes) || historyBytes < 1) throw new RangeError('journeyHistoryBytes must be a positive integer');
  const templateSeconds = options.chatTemplateTimeoutSeconds ?? TOKENIZER_POOL_DEFAULTS.templateTimeoutMs / 1000;
  if (!(templateSeconds > 0 && templateSeconds <= 3600)) throw new RangeError('chatTemplateTimeoutSeconds must be above 0 and at most 3600');
  const templateTimeoutMs = templateSeconds * 1000;
  const logger = options.logger ?? createLogger();
  const tracing = resolveTracingConfig(options.tracing, process.env, packageVersion(), randomUUID());
  // loaded only when on: with tracing off the OpenTelemetry SDK is never imported
  const apiTracing = tracing.enabled ? new (await import('../observe/tracing/api-tracing.js')).ApiTracing(tracing, logger) : null;
  const ownsEngine = options.engine === undefined;
  const engine = options.engine ?? (await startPool(options, tracing, logger));
  let prompts: PromptTokenizer;
  try {
    prompts = await startPromptTokenizer(engine, logger, templateTimeoutMs);
  } catch (err) {
    if (ownsEngine) await engine.close();
    throw err;
  }
  return new Server(options, limits, engine, ownsEngine, logger, apiTracing, prompts);
}

/**
 * The prompt tokenizer of the routes: the byte tokenizer in place, a model file's vocabulary and
 * template in a tokenizer pool. The template renders a one-message conversation first, within
 * its time budget, so that a broken or hostile template stops the start with one line.
 */
async function startPromptTokenizer(engine: Engine, logger: Logger, templateTimeoutMs: number): Promise<PromptTokenizer> {
  const tokenizer = engine.tokenizer;
  if (tokenizer.cheap) return inlinePromptTokenizer(tokenizer);
  if (tokenizer.usesFallbackTemplate) logger.warn('the model file has no chat template; chat requests use ChatML, as llama.cpp does', { model: engine.config.model });
  const pool = await TokenizerPool.start(tokenizer, { ...TOKENIZER_POOL_DEFAULTS, templateTimeoutMs, logger });
  try {
    await pool.applyChatTemplate([{ role: 'user', content: 'Hello' }]);
  } catch (err) {
    await pool.close();
    throw new ModelLoadError(`${engine.config.model}: the model's chat template cannot render a one-message conversation: ${err instanceof Error ? err.message : String(err)}`);
  }
  return pool;
}

function allowedHostsFor(options: ServerOptions): readonly string[] | null {
  if (options.allowedHosts) return options.allowedHosts;
  const host = options.host ?? '127.0.0.1';
  return isLoopbackHost(host) ? defaultAllowedHosts(host) : null;
}

async function startPool(options: ServerOptions, tracing: TracingConfig, logger: Logger): Promise<PoolEngine> {
  const prepared = await prepareEngine(options, workerCount(options));
  logger.debug('kernel backend', { kernels: prepared.config.kernels, gpujsMode: prepared.config.gpujsMode, reason: prepared.reason });
  return startPoolEngine(prepared, { ...options, tracing, logger });
}

function tracingStats(engine: Engine, api: ApiTracing | null): ThreadTracingStats[] {
  if (!api) return [];
  const counts = api.tracing?.counts ?? { exported: 0, dropped: 0, failed: 0 };
  const all: ThreadTracingStats[] = [{ thread: 'api', openSpans: api.numOpenSpans, ...counts }];
  for (const r of engine.replicaTracing()) all.push({ thread: `engine-worker-${r.replica}`, openSpans: r.openSpans, exported: r.exported, dropped: r.dropped, failed: r.failed });
  return all;
}

class Server implements JourneyServer {
  readonly app: Koa;
  readonly metrics: ServerMetrics;
  readonly journeys: JourneyStore;
  private readonly http: http.Server;
  private readonly connectionGuard: ConnectionGuard;
  private shuttingDown = false;
  private readonly shutdown = new AbortController();
  private active = 0;
  private onIdle: (() => void) | null = null;
  private closed: Promise<void> | null = null;
  private readonly graceOver = new AbortController();
  private readonly stopEngineLog: () => void;

  constructor(
    private readonly options: ServerOptions,
    limits: ConnectionLimits,
    readonly engine: Engine,
    private readonly ownsEngine: boolean,
    readonly logger: Logger,
    private readonly apiTracing: ApiTracing | null,
    private readonly prompts: PromptTokenizer,
  ) {
    const names = options.servedModelName ?? defaultServedModelName(engine.config.model);
    const models = servedModels(typeof names === 'string' ? [names] : names);
    this.metrics = new ServerMetrics({ engineStats: () => engine.stats(), tracingStats: () => tracingStats(engine, apiTracing), servedModelName: models.primary });
    const history = options.journeyHistory ?? 1000;
    const historyBytes = options.journeyHistoryBytes ?? DEFAULT_JOURNEY_HISTORY_BYTES;
    this.journeys = new JourneyStore({ capacity: history, maxBytes: historyBytes });
    this.connectionGuard = new ConnectionGuard({ stallMs: limits.streamStallTimeoutSeconds * 1000, maxPipelined: MAX_PIPELINED }, (reason) => {
      this.metrics.connectionClosed(reason);
      logger.warnOnce(`connection:${reason}`, reason === 'stalled' ? 'closed a connection whose client stopped reading its responses (further ones are counted in journey_connections_closed_total)' : `closed a connection that pipelined more than ${MAX_PIPELINED} requests without reading the answers (further ones are counted in journey_connections_closed_total)`);
    });
    // tracing first: the others read the trace id it decides
    const observers = [apiTracing, this.metrics, this.journeys, options.observer].filter((o): o is RequestObserver => o !== null && o !== undefined);
    this.app = createApp({
      engine,
      models,
      maxModelLen: engine.config.maxModelLen,
      maxRequestBodyBytes: options.maxRequestBodyBytes ?? 1 << 20,
      requestTimeoutSeconds: options.requestTimeoutSeconds ?? 0,
      streamStallTimeoutSeconds: limits.streamStallTimeoutSeconds,
      connectionGuard: this.connectionGuard,
      prompts,
      apiKey: options.apiKey ?? null,
      metricsApiKey: options.metricsApiKey ?? null,
      allowedHosts: allowedHostsFor(options),
      cors: options.cors ?? null,
      perRequestMetrics: options.enablePerRequestMetrics ?? false,
      journeys: history > 0 ? this.journeys : null,
      traceUrlTemplate: options.traceUrlTemplate ?? null,
      metrics: this.metrics,
      observer: combineObservers(observers),
      isShuttingDown: () => this.shuttingDown,
      isHealthy: () => !this.shuttingDown && engine.isReady,
      shutdownSignal: this.shutdown.signal,
      logger,
    });
    const statsSeconds = options.logStatsIntervalSeconds ?? 10;
    this.stopEngineLog = statsSeconds > 0 ? startEngineLog(engine, () => this.metrics.totals, logger, statsSeconds * 1000) : () => {};
    this.app.middleware.unshift(async (_ctx, next) => {
      this.active++;
      try {
        await next();
      } finally {
        if (--this.active === 0) this.onIdle?.();
      }
    });
    // a streamed response can outlive any fixed limit: the response side is bounded by the stall
    // guard (a client must keep reading), not by a duration
    const callback = this.app.callback();
    this.http = http.createServer(httpServerOptions(limits), (req, res) => {
      if (this.connectionGuard.admit(req, res)) void callback(req, res);
    });
    if (limits.maxConnections > 0) this.http.maxConnections = limits.maxConnections;
    this.connectionGuard.attach(this.http);
  }

  get numOpenSpans(): number {
    return this.apiTracing?.numOpenSpans ?? 0;
  }

  listen(): Promise<{ host: string; port: number; url: string }> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port ?? 8000, this.options.host ?? '127.0.0.1', () => {
        this.http.off('error', reject);
        const { address, port } = this.http.address() as AddressInfo;
        const host = address.includes(':') ? `[${address}]` : address;
        resolve({ host: address, port, url: `http://${host}:${port}` });
      });
    });
  }

  close({ gracePeriodMs = 0 }: { gracePeriodMs?: number } = {}): Promise<void> {
    if (this.closed) this.graceOver.abort();
    this.closed ??= this.stop(gracePeriodMs);
    return this.closed;
  }

  private async stop(gracePeriodMs: number): Promise<void> {
    this.shuttingDown = true;
    this.stopEngineLog();
    this.connectionGuard.detach();
    const serverClosed = new Promise<void>((resolve) => (this.http.listening ? this.http.close(() => resolve()) : resolve()));
    this.http.closeIdleConnections();
    await this.whenIdle(gracePeriodMs, this.graceOver.signal);
    this.shutdown.abort(new EngineFailureError('the server shut down before the request finished', 'server_shutdown'));
    await this.whenIdle(5000); // the aborted requests write their last bytes
    this.http.closeAllConnections();
    await serverClosed;
    if (this.ownsEngine) await this.engine.close();
    await this.prompts.close();
    await this.apiTracing?.shutdown(); // ends what is still open, then flushes within its bound
  }

  private async whenIdle(timeoutMs: number, cutShort?: AbortSignal): Promise<void> {
    if (this.active === 0 || timeoutMs <= 0 || cutShort?.aborted) return;
    await raceTimeout(
      new Promise<void>((resolve) => {
        this.onIdle = resolve;
        cutShort?.addEventListener('abort', () => resolve(), { once: true });
      }),
      timeoutMs,
    );
    this.onIdle = null;
  }
}
