import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { CloseOptions, Engine, EngineStats, GenerateOptions } from '../engine/engine.js';
import { resolveEngineConfig, type EngineConfig, type EngineConfigInput } from '../engine/engine-config.js';
import { resolveKernels } from '../engine/resolve-kernels.js';
import { RequestStream, type GenerationStream } from '../engine/generation-stream.js';
import { resolveSamplingParams, type SamplingParamsInput } from '../engine/sampling-params.js';
import { validateRequest } from '../engine/validate-request.js';
import { EngineFailureError, EngineOverloadedError, GenerationError } from '../errors.js';
import { buildWeights } from '../model/load-model.js';
import { ByteTokenizer } from '../tokenizer/byte-tokenizer.js';
import { TRACING_OFF, type TracingConfig } from '../tracing/tracing-config.js';
import { createLogger, type Logger } from '../util/logger.js';
import type { EngineWorkerTask } from '../worker/engine-loop.js';
import { ByteWriter } from './byte-codec.js';
import { channelSizesFor, createDoorbell, ringDoorbell, waitForChange } from './channels.js';
import { ADD_REQUEST, CRASH_WORKER, decodeOutput, encodeAddRequest, encodeCrash, REQUEST_OUTPUT, type CrashMode } from './records.js';
import { Replica, type WorkerStats } from './replica.js';

export interface EngineClientOptions extends EngineConfigInput {
  /** Engine workers, one replica each. Default: one per core but one, and at least one. */
  readonly workers?: number;
  /** Requests one worker may hold (running and waiting) before new ones are refused. Default 4 × maxNumSeqs. */
  readonly maxPendingPerWorker?: number;
  readonly logger?: Logger;
  /** Worker heap limits, passed to each worker thread. */
  readonly resourceLimits?: ResourceLimits;
  /** Journey tracing in the workers; off unless given. */
  readonly tracing?: TracingConfig;
  /** Enables crashWorkerForTesting(). */
  readonly enableTestHooks?: boolean;
}

export function defaultWorkerCount(): number {
  // the API thread needs a core of its own under load
  return Math.max(1, os.availableParallelism() - 1);
}

/** Starts a pool of engine workers and resolves once every one has built its engine. */
export async function createEngineClient(options: EngineClientOptions = {}): Promise<EngineClient> {
  const { config, reason } = await resolveKernels(resolveEngineConfig(options));
  options.logger?.debug('kernel backend', { kernels: config.kernels, gpujsMode: config.gpujsMode, reason });
  const client = new EngineClient(config, options);
  try {
    await client.ready();
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}

/**
 * The API thread's side of the worker pool, with the same generate() as the in-process engine.
 * Each request goes to the ready worker holding the fewest requests, as one record on its submit
 * ring; one pump waits on the shared doorbell and feeds every worker's outputs to their streams.
 * The API thread never computes and never blocks.
 */
export class EngineClient implements Engine {
  readonly tokenizer = new ByteTokenizer();
  readonly numWorkers: number;
  private readonly pool: Piscina<EngineWorkerTask, void>;
  private readonly replicas: Replica[];
  private readonly doorbell = createDoorbell();
  private readonly writer = new ByteWriter();
  private readonly logger: Logger;
  private readonly maxPendingPerWorker: number;
  private nextKey = 1;
  private closing = false;
  private closed: Promise<void> | null = null;
  private pumping = true;
  private readonly pumpDone: Promise<void>;
  private onDrained: (() => void) | null = null;

  constructor(
    readonly config: EngineConfig,
    private readonly options: EngineClientOptions = {},
  ) {
    this.numWorkers = options.workers ?? defaultWorkerCount();
    if (!Number.isInteger(this.numWorkers) || this.numWorkers < 1) throw new RangeError('workers must be a positive integer');
    this.maxPendingPerWorker = options.maxPendingPerWorker ?? 4 * config.maxNumSeqs;
    this.logger = options.logger ?? createLogger();
    this.pool = new Piscina({
      filename: new URL('../../workers/engine-worker.js', import.meta.url).href,
      minThreads: this.numWorkers,
      maxThreads: this.numWorkers,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      // the engine task never returns between steps, so piscina's blocking waits would never help
      atomics: 'disabled',
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
    });
    // the pool reports a thread's death through its task; this only keeps the event from throwing
    this.pool.on('error', (err: unknown) => this.logger.error('engine worker pool error', { error: String(err) }));
    if (config.kernels === 'auto') throw new RangeError('resolve the kernel backend (resolveKernels) before starting workers');
    const weights = buildWeights(config);
    const sizes = channelSizesFor(config.maxModelLen);
    this.replicas = Array.from(
      { length: this.numWorkers },
      (_, index) =>
        new Replica(index, sizes, this.doorbell, (channels) =>
          this.pool.run({
            workerIndex: index,
            config,
            weights,
            channels,
            tracing: options.tracing ?? TRACING_OFF,
            logLevel: this.logger.level,
            enableTestHooks: options.enableTestHooks === true,
          }),
        ),
    );
    for (const replica of this.replicas) this.launch(replica);
    this.pumpDone = this.pump();
  }

  /** Resolves when every worker is ready; rejects if one fails to start. */
  async ready(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.whenReady()));
  }

  get isReady(): boolean {
    return !this.closing && this.replicas.every((r) => r.isReady);
  }

  generate(prompt: string | readonly number[], params: SamplingParamsInput = {}, options: GenerateOptions = {}): GenerationStream {
    if (this.closing) throw new EngineFailureError('the server is shutting down', 'server_shutdown');
    options.signal?.throwIfAborted();
    const promptTokenIds = typeof prompt === 'string' ? this.tokenizer.encode(prompt) : prompt;
    const resolved = resolveSamplingParams(params, this.tokenizer.vocabSize);
    validateRequest(promptTokenIds, resolved, this.tokenizer.vocabSize, this.config.maxModelLen);

    const replica = this.leastLoaded();
    const key = this.nextKey;
    this.nextKey = (this.nextKey % 0xffff_ffff) + 1;
    const requestId = options.requestId ?? `req-${randomUUID()}`;
    const record = encodeAddRequest(this.writer, {
      key,
      requestId,
      promptTokenIds,
      params: resolved,
      sampled: options.trace?.sampled ?? false,
      carrier: options.trace?.carrier ?? null,
      choiceIndex: options.trace?.choiceIndex ?? 0,
    });
    if (!replica.submit.tryWrite(ADD_REQUEST, record)) throw new EngineOverloadedError(`engine worker ${replica.index}'s submit queue is full`);
    options.onCommitted?.(); // written, not yet visible to the worker
    replica.submit.publish();
    const generation = replica.generation;
    const stream = new RequestStream(
      requestId,
      promptTokenIds.length,
      (reason) => this.cancel(replica, generation, key, reason),
      options.signal,
      replica.index,
      resolved.stop,
    );
    replica.inFlight.set(key, { stream, cancelled: false });
    return stream;
  }

  stats(): EngineStats {
    const all = this.workerStats().filter((s) => s.ready);
    const numPreemptions = this.workerStats().reduce((sum, s) => sum + s.numPreemptions, 0);
    const numKvBlocks = all.reduce((sum, s) => sum + s.numKvBlocks, 0);
    const numFreeKvBlocks = all.reduce((sum, s) => sum + s.numFreeKvBlocks, 0);
    return {
      numRunning: all.reduce((sum, s) => sum + s.numRunning, 0),
      numWaiting: all.reduce((sum, s) => sum + s.numWaiting, 0),
      numFreeKvBlocks,
      numKvBlocks,
      kvCacheUsage: numKvBlocks === 0 ? 0 : 1 - numFreeKvBlocks / numKvBlocks,
      numPreemptions,
    };
  }

  workerStats(): WorkerStats[] {
    return this.replicas.map((r) => r.stats());
  }

  /** Test hook: makes worker `index` fail; needs `enableTestHooks`. */
  crashWorkerForTesting(index: number, mode: CrashMode = 'throw'): void {
    if (!this.options.enableTestHooks) throw new Error('crashWorkerForTesting needs enableTestHooks');
    const replica = this.replicas[index];
    if (!replica.submit.tryWrite(CRASH_WORKER, encodeCrash(this.writer, mode))) throw new Error('submit queue full');
    replica.submit.publish();
  }

  /**
   * Stops intake, lets requests in flight finish for up to `gracePeriodMs`, then stops every
   * worker's loop (their remaining requests end with a shutdown error) and closes the pool.
   */
  close({ gracePeriodMs = 0 }: CloseOptions = {}): Promise<void> {
    this.closed ??= this.shutdown(gracePeriodMs);
    return this.closed;
  }

  private async shutdown(gracePeriodMs: number): Promise<void> {
    this.closing = true;
    if (gracePeriodMs > 0 && this.numInFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.onDrained = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, gracePeriodMs))),
      ]);
      clearTimeout(timer);
    }
    for (const replica of this.replicas) replica.requestShutdown();
    await Promise.allSettled(this.replicas.map((r) => r.settled()));
    this.drainAll();
    const shutdown = new EngineFailureError('the server shut down before the request finished', 'server_shutdown');
    for (const replica of this.replicas) replica.failAll(shutdown);
    this.pumping = false;
    ringDoorbell(new Int32Array(this.doorbell));
    await this.pumpDone;
    await this.pool.destroy();
  }

  private get numInFlight(): number {
    return this.replicas.reduce((sum, r) => sum + r.inFlight.size, 0);
  }

  private leastLoaded(): Replica {
    let best: Replica | null = null;
    for (const r of this.replicas) if (r.isReady && (!best || r.inFlight.size < best.inFlight.size)) best = r;
    if (!best) throw new EngineOverloadedError('no engine worker is ready');
    if (best.inFlight.size >= this.maxPendingPerWorker) {
      throw new EngineOverloadedError(`every engine worker holds its limit of ${this.maxPendingPerWorker} requests`);
    }
    return best;
  }

  private cancel(replica: Replica, generation: number, key: number, reason: 'abort' | 'stop'): void {
    const entry = replica.inFlight.get(key);
    if (!entry || replica.generation !== generation) return;
    // after a stop string the stream still waits for the engine's final output; after an abort nobody listens
    if (reason === 'abort') entry.cancelled = true;
    replica.sendAbort(key, reason);
  }

  /** Runs `replica`'s worker task; on its end, fails what it held and starts a replacement. */
  private launch(replica: Replica): void {
    const generation = replica.generation;
    replica.start().then(
      () => this.onWorkerEnd(replica, generation, null),
      (err: unknown) => this.onWorkerEnd(replica, generation, err),
    );
  }

  private onWorkerEnd(replica: Replica, generation: number, err: unknown): void {
    if (replica.generation !== generation) return;
    this.drainAll(); // outputs it published before dying are still good
    if (this.closing) return;
    const reason = err instanceof Error ? err.message : 'its loop ended';
    this.logger.error('engine worker failed; replacing it', { worker: replica.index, error: reason, requestsFailed: replica.inFlight.size });
    replica.failAll(new EngineFailureError(`engine worker ${replica.index} failed: ${reason}`));
    this.notifyIfDrained();
    if (!replica.wasEverReady) return; // a worker that cannot even start would fail forever
    replica.renew();
    this.launch(replica);
  }

  private async pump(): Promise<void> {
    const bell = new Int32Array(this.doorbell);
    while (this.pumping) {
      const seen = Atomics.load(bell, 0);
      this.drainAll();
      await waitForChange(bell, 0, seen);
    }
  }

  private drainAll(): void {
    for (const replica of this.replicas) {
      replica.output.drain((type, payload) => {
        if (type === REQUEST_OUTPUT) this.dispatch(replica, decodeOutput(payload));
      });
      replica.flushAborts();
    }
    this.notifyIfDrained();
  }

  private dispatch(replica: Replica, out: ReturnType<typeof decodeOutput>): void {
    const entry = replica.inFlight.get(out.key);
    if (!entry) return;
    if (out.finishReason !== null) replica.inFlight.delete(out.key);
    if (entry.cancelled) return; // its caller has stopped listening
    const error =
      out.finishReason === 'error'
        ? new GenerationError(out.error ?? 'generation failed')
        : out.finishReason === 'abort'
          ? new EngineFailureError('the engine stopped before the request finished', 'server_shutdown')
          : undefined;
    entry.stream.deliver(out.newTokenIds, out.finishReason, out.stamps, error, out.tsNs);
  }

  private notifyIfDrained(): void {
    if (this.onDrained && this.numInFlight === 0) this.onDrained();
  }
}
