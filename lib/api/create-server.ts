import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import type { Engine } from '../engine/engine.js';
import { EngineFailureError } from '../errors.js';
import { createEngineClient, type EngineClientOptions } from '../transport/engine-client.js';
import { createLogger, type Logger } from '../util/logger.js';
import { createApp } from './app.js';
import { NOOP_OBSERVER, type RequestObserver } from './request-lifecycle.js';

export interface ServerOptions extends EngineClientOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** The model name clients use; defaults to the model's. */
  readonly servedModelName?: string;
  /** Require this bearer key on /v1. */
  readonly apiKey?: string | null;
  readonly maxRequestBodyBytes?: number;
  /** Generations running longer are aborted; 0 = no limit. */
  readonly requestTimeoutSeconds?: number;
  readonly logger?: Logger;
  /** Serve this engine instead of starting a worker pool; the caller keeps ownership of it. */
  readonly engine?: Engine;
  readonly observer?: RequestObserver;
}

export interface JourneyServer {
  /** The Koa app: mount it elsewhere, or let listen() serve it. */
  readonly app: Koa;
  readonly engine: Engine;
  readonly logger: Logger;
  /** Starts listening; resolves with the address once bound. */
  listen(): Promise<{ host: string; port: number; url: string }>;
  /**
   * Stops accepting, gives requests in flight `gracePeriodMs` to finish, aborts the rest (they end
   * with a server_shutdown error), closes every connection and, if the server started it, the engine.
   */
  close(options?: { gracePeriodMs?: number }): Promise<void>;
}

export async function createServer(options: ServerOptions = {}): Promise<JourneyServer> {
  const logger = options.logger ?? createLogger();
  const ownsEngine = options.engine === undefined;
  const engine = options.engine ?? (await createEngineClient({ ...options, logger }));
  return new Server(options, engine, ownsEngine, logger);
}

class Server implements JourneyServer {
  readonly app: Koa;
  private readonly http: http.Server;
  private shuttingDown = false;
  private readonly shutdown = new AbortController();
  private active = 0;
  private onIdle: (() => void) | null = null;
  private closed: Promise<void> | null = null;

  constructor(
    private readonly options: ServerOptions,
    readonly engine: Engine,
    private readonly ownsEngine: boolean,
    readonly logger: Logger,
  ) {
    this.app = createApp({
      engine,
      servedModelName: options.servedModelName ?? engine.config.model,
      maxModelLen: engine.config.maxModelLen,
      maxRequestBodyBytes: options.maxRequestBodyBytes ?? 1 << 20,
      requestTimeoutSeconds: options.requestTimeoutSeconds ?? 0,
      apiKey: options.apiKey ?? null,
      observer: options.observer ?? NOOP_OBSERVER,
      isShuttingDown: () => this.shuttingDown,
      isHealthy: () => !this.shuttingDown && engine.isReady,
      shutdownSignal: this.shutdown.signal,
      logger,
    });
    this.app.middleware.unshift(async (_ctx, next) => {
      this.active++;
      try {
        await next();
      } finally {
        if (--this.active === 0) this.onIdle?.();
      }
    });
    // a streamed response can outlive any fixed limit, so none is set on the response side
    this.http = http.createServer({ noDelay: true, keepAliveTimeout: 5000 }, this.app.callback());
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
    this.closed ??= this.stop(gracePeriodMs);
    return this.closed;
  }

  private async stop(gracePeriodMs: number): Promise<void> {
    this.shuttingDown = true;
    const serverClosed = new Promise<void>((resolve) => (this.http.listening ? this.http.close(() => resolve()) : resolve()));
    this.http.closeIdleConnections();
    await this.whenIdle(gracePeriodMs);
    this.shutdown.abort(new EngineFailureError('the server shut down before the request finished', 'server_shutdown'));
    await this.whenIdle(5000); // the aborted requests write their last bytes
    this.http.closeAllConnections();
    await serverClosed;
    if (this.ownsEngine) await this.engine.close();
  }

  private async whenIdle(timeoutMs: number): Promise<void> {
    if (this.active === 0 || timeoutMs <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => (this.onIdle = resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    this.onIdle = null;
  }
}
