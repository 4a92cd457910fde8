import os from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import { EngineFrontend } from '../engine/engine-frontend.js';
import { defaultEngineLayout, type EngineConfigInput } from '../engine/engine-config.js';
import { prepareEngine, type PreparedEngine } from '../engine/resolve-config.js';
import type { TracingConfig } from '../observe/tracing/tracing-config.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { createLogger, type Logger } from '../util/logger.js';
import type { WorkerStats } from './replica.js';
import { WorkerPool } from './worker-pool.js';

export interface PoolEngineOptions extends EngineConfigInput {
  /** Engine workers, one replica each. Default: one per 8 cores, at least one (each on up to 8 threads: defaultEngineLayout). */
  readonly workers?: number;
  /** Requests one worker may hold (running and waiting) before new ones are refused. Default 4 × maxNumSeqs. */
  readonly maxPendingPerWorker?: number;
  readonly logger?: Logger;
  /** Worker heap limits, passed to each worker thread. */
  readonly resourceLimits?: ResourceLimits;
  /** Journey tracing in the workers; off unless given. */
  readonly tracing?: TracingConfig;
  /**
   * The module each worker thread runs (default: the package's `workers/engine-worker.js`). A
   * replacement must export a piscina task that runs `runEngineWorker` on the task it is given,
   * e.g. to wrap how the engine is built.
   */
  readonly workerModule?: URL;
  /**
   * A worker holding requests that finishes no engine step for this many seconds fails them
   * (engine_failure) and is replaced. Default 60, as vLLM's engine iteration timeout; 0 = never.
   */
  readonly engineIterationTimeoutSeconds?: number;
}

const DEFAULT_WORKER_MODULE = new URL('../../workers/engine-worker.js', import.meta.url);

export function defaultWorkerCount(): number {
  return defaultEngineLayout().workers;
}

/** The Engine over a pool of worker replicas, plus what only a pool has: its workers. */
export class PoolEngine extends EngineFrontend {
  constructor(
    tokenizer: Tokenizer,
    private readonly pool: WorkerPool,
  ) {
    super(tokenizer, pool);
  }

  /** Resolves when every worker is ready (again, after a replacement). */
  ready(): Promise<void> {
    return this.pool.ready();
  }

  workerStats(): WorkerStats[] {
    return this.pool.workerStats();
  }
}

/** Starts a pool of engine workers and resolves once every one has built its engine. */
export async function createPoolEngine(options: PoolEngineOptions = {}): Promise<PoolEngine> {
  const numWorkers = workerCount(options);
  const prepared = await prepareEngine(options, numWorkers);
  options.logger?.debug('kernel backend', { kernels: prepared.config.kernels, gpujsMode: prepared.config.gpujsMode, reason: prepared.reason });
  return startPoolEngine(prepared, options);
}

/** The workers an options object asks for, checked. */
export function workerCount(options: Pick<PoolEngineOptions, 'workers'>): number {
  const numWorkers = options.workers ?? defaultWorkerCount();
  if (!Number.isInteger(numWorkers) || numWorkers < 1) throw new RangeError('workers must be a positive integer');
  return numWorkers;
}

/** Starts the pool for an engine that is already prepared; nothing is started if an option is wrong. */
export async function startPoolEngine({ config, tokenizer, weights }: PreparedEngine, options: Omit<PoolEngineOptions, keyof EngineConfigInput> = {}): Promise<PoolEngine> {
  const numWorkers = workerCount(options);
  const iterationTimeout = options.engineIterationTimeoutSeconds ?? 60;
  if (!(iterationTimeout >= 0 && iterationTimeout <= 86400)) throw new RangeError('engineIterationTimeoutSeconds must be from 0 to 86400');
  const logger = options.logger ?? createLogger();
  const threads = numWorkers * config.threadsPerWorker;
  if (threads > os.availableParallelism()) {
    // a kernel team waits for its helpers by spinning, then sleeping: with more threads than cores
    // a helper is often descheduled, and every hand-off waits for the scheduler
    logger.warn('more engine threads than cores: kernels will wait on each other', { workers: numWorkers, threadsPerWorker: config.threadsPerWorker, cores: os.availableParallelism() });
  }
  const pool = new WorkerPool(config, weights, tokenizer.recipe, {
    numWorkers,
    maxPendingPerWorker: options.maxPendingPerWorker ?? 4 * config.maxNumSeqs,
    logger,
    workerModule: options.workerModule ?? DEFAULT_WORKER_MODULE,
    stepTimeoutMs: iterationTimeout * 1000,
    ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}),
    ...(options.tracing ? { tracing: options.tracing } : {}),
  });
  const client = new PoolEngine(tokenizer, pool);
  try {
    await pool.ready();
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}
