import type { ResourceLimits } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { EngineBackend, OutputSink, Submission } from '../engine/engine-backend.js';
import type { ResolvedEngineConfig } from '../engine/engine-config.js';
import type { EngineStats, ReplicaTracing } from '../engine/engine.js';
import type { EngineRequest } from '../engine/llm-engine.js';
import type { CancelReason } from '../engine/sequence.js';
import { EngineFailureError, EngineOverloadedError } from '../errors.js';
import type { WeightsShare } from '../models/load-weights.js';
import type { TokenizerRecipe } from '../tokenizer/tokenizer.js';
import { TRACING_OFF, type TracingConfig } from '../observe/tracing/tracing-config.js';
import { ByteWriter } from '../transport/byte-codec.js';
import { channelSizesFor, createDoorbell, ringDoorbell, waitForChange } from '../transport/channels.js';
import { ADD_REQUEST, decodeOutput, encodeAddRequest, REQUEST_OUTPUT, type RequestOutputRecord } from '../transport/records.js';
import type { Logger } from '../util/logger.js';
import type { EngineWorkerTask } from './engine-loop.js';
import { Replica, type WorkerStats } from './replica.js';
import { StepWatchdog } from './step-watchdog.js';
import { monotonicMs } from '../util/clock.js';

export interface WorkerPoolOptions {
  readonly numWorkers: number;
  /** Requests one worker may hold (running and waiting) before new ones are refused. */
  readonly maxPendingPerWorker: number;
  readonly logger: Logger;
  readonly resourceLimits?: ResourceLimits;
  readonly tracing?: TracingConfig;
  /** The piscina entry each worker runs; it must run runEngineWorker on its task. */
  readonly workerModule: URL;
  /** A worker holding requests that finishes no step for this long is replaced; 0 = never. */
  readonly stepTimeoutMs: number;
}

/**
 * A back end of engine replicas, one per worker thread of a piscina pool. Each request goes to
 * the ready worker holding the fewest requests, as one record on its submit ring; one pump waits
 * on the shared doorbell and feeds every worker's outputs to their sinks. A worker that dies
 * fails exactly the requests it held and is replaced. The API thread never computes and never
 * blocks.
 */
export class WorkerPool implements EngineBackend {
  private readonly pool: Piscina<EngineWorkerTask, void>;
  private readonly replicas: Replica[];
  private readonly doorbell = createDoorbell();
  private readonly writer = new ByteWriter();
  private nextKey = 1;
  private stopping = false;
  private pumping = true;
  private readonly pumpDone: Promise<void>;
  private readonly watchdogTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly config: ResolvedEngineConfig,
    weights: WeightsShare,
    vocabulary: TokenizerRecipe,
    private readonly options: WorkerPoolOptions,
  ) {
    this.pool = new Piscina({
      filename: options.workerModule.href,
      minThreads: options.numWorkers,
      maxThreads: options.numWorkers,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      // the engine task never returns between steps, so piscina's blocking waits would never help
      atomics: 'disabled',
      ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
    });
    // the pool reports a thread's death through its task; this only keeps the event from throwing
    this.pool.on('error', (err: unknown) => options.logger.error('engine worker pool error', { error: String(err) }));
    const sizes = channelSizesFor(config.maxModelLen);
    this.replicas = Array.from(
      { length: options.numWorkers },
      (_, index) =>
        new Replica(index, sizes, this.doorbell, (channels) =>
          this.pool.run({ workerIndex: index, config, weights, vocabulary, channels, tracing: options.tracing ?? TRACING_OFF, logLevel: options.logger.level }),
        ),
    );
    for (const replica of this.replicas) this.launch(replica);
    this.pumpDone = this.pump();
    if (options.stepTimeoutMs > 0) {
      const watchdog = new StepWatchdog(options.stepTimeoutMs);
      this.watchdogTimer = setInterval(() => this.replaceStuck(watchdog), Math.min(1000, Math.ceil(options.stepTimeoutMs / 4)));
      this.watchdogTimer.unref();
    }
  }

  get numReplicas(): number {
    return this.replicas.length;
  }

  replicaTracing(): readonly ReplicaTracing[] {
    return this.workerStats().map(({ index, tracing }) => ({ replica: index, openSpans: tracing.openSpans, exported: tracing.exported, dropped: tracing.dropped, failed: tracing.failed }));
  }

  /** Resolves when every worker is ready; rejects if one fails to start. */
  async ready(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.whenReady()));
  }

  get isReady(): boolean {
    return !this.stopping && this.replicas.every((r) => r.isReady);
  }

  get maxRequestsHeld(): number {
    return this.replicas.length * this.options.maxPendingPerWorker;
  }

  submit(request: EngineRequest, sink: OutputSink, onCommitted?: () => void): Submission {
    const replica = this.leastLoaded();
    const key = this.nextKey;
    this.nextKey = (this.nextKey % 0xffff_ffff) + 1;
    if (!replica.submit.tryWrite(ADD_REQUEST, encodeAddRequest(this.writer, { key, request }))) {
      throw new EngineOverloadedError(`engine worker ${replica.index}'s submit queue is full`);
    }
    onCommitted?.(); // written, not yet visible to the worker
    replica.submit.publish();
    replica.inFlight.set(key, sink);
    const incarnation = replica.incarnation;
    return { cancel: (reason) => this.cancel(replica, incarnation, key, reason), workerIndex: replica.index };
  }

  stats(): EngineStats {
    const all = this.workerStats();
    const ready = all.filter((s) => s.ready);
    const numKvBlocks = ready.reduce((sum, s) => sum + s.numKvBlocks, 0);
    const numFreeKvBlocks = ready.reduce((sum, s) => sum + s.numFreeKvBlocks, 0);
    return {
      numRunning: ready.reduce((sum, s) => sum + s.numRunning, 0),
      numWaiting: ready.reduce((sum, s) => sum + s.numWaiting, 0),
      numFreeKvBlocks,
      numKvBlocks,
      kvCacheUsage: numKvBlocks === 0 ? 0 : 1 - numFreeKvBlocks / numKvBlocks,
      numPreemptions: all.reduce((sum, s) => sum + s.numPreemptions, 0),
    };
  }

  workerStats(): WorkerStats[] {
    return this.replicas.map((r) => r.stats());
  }

  /** Stops every worker's loop (their remaining requests end with a shutdown error) and closes the pool. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.watchdogTimer);
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

  private leastLoaded(): Replica {
    let best: Replica | null = null;
    for (const r of this.replicas) if (r.isReady && (!best || r.inFlight.size < best.inFlight.size)) best = r;
    if (!best) throw new EngineOverloadedError('no engine worker is ready');
    if (best.inFlight.size >= this.options.maxPendingPerWorker) {
      throw new EngineOverloadedError(`every engine worker holds its limit of ${this.options.maxPendingPerWorker} requests`);
    }
    return best;
  }

  private cancel(replica: Replica, incarnation: number, key: number, reason: CancelReason): void {
    if (!replica.inFlight.has(key) || replica.incarnation !== incarnation) return;
    replica.sendAbort(key, reason);
  }

  /**
   * Terminates the thread of every worker stuck in a step; the end of its task then fails its
   * requests with the reason and starts a replacement, as for a crash.
   */
  private replaceStuck(watchdog: StepWatchdog): void {
    const watched = this.replicas.map((r) => ({ index: r.index, numInFlight: r.inFlight.size, step: r.stats().step, incarnation: r.incarnation }));
    for (const { index, stuckMs } of watchdog.stuck(watched, monotonicMs())) {
      const replica = this.replicas[index];
      const threadId = replica.threadId;
      replica.retire(`finished no engine step for ${Math.round(stuckMs / 100) / 10} s`);
      void this.pool.threads.find((t) => t.threadId === threadId)?.terminate();
    }
  }

  /** Runs `replica`'s worker task; on its end, fails what it held and starts a replacement. */
  private launch(replica: Replica): void {
    const incarnation = replica.incarnation;
    replica.start().then(
      () => this.onWorkerEnd(replica, incarnation, null),
      (err: unknown) => this.onWorkerEnd(replica, incarnation, err),
    );
  }

  private onWorkerEnd(replica: Replica, incarnation: number, err: unknown): void {
    if (replica.incarnation !== incarnation) return;
    this.drainAll(); // outputs it published before dying are still good
    if (this.stopping) return;
    const reason = replica.retiredBecause ?? (err instanceof Error ? err.message : 'its loop ended');
    this.options.logger.error('engine worker failed; replacing it', { worker: replica.index, error: reason, requestsFailed: replica.inFlight.size });
    replica.failAll(new EngineFailureError(`engine worker ${replica.index} failed: ${reason}`));
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
  }

  private dispatch(replica: Replica, out: RequestOutputRecord): void {
    const sink = replica.inFlight.get(out.key);
    if (!sink) return;
    if (out.finishReason !== null) replica.inFlight.delete(out.key);
    sink.deliver(out);
  }
}
