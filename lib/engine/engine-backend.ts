import type { ResolvedEngineConfig } from './engine-config.js';
import type { EngineOutput } from './engine-output.js';
import type { EngineStats, ReplicaTracing } from './engine.js';
import type { EngineRequest } from './llm-engine.js';
import type { CancelReason } from './sequence.js';

/** Where one request's outputs go. */
export interface OutputSink {
  /** Each output in order; the one with a finish reason is the last. */
  deliver(output: EngineOutput): void;
  /** The engine holding the request is gone (it died, or shut down while the request was with it). */
  fail(error: Error): void;
}

/** A request the back end has taken: how to cancel it, and where it runs. */
export interface Submission {
  cancel(reason: CancelReason): void;
  /** The engine worker serving it, when the back end is a pool of workers. */
  readonly workerIndex?: number;
}

/**
 * Where an engine's requests run: a step loop in this thread, or a pool of worker replicas.
 * The front end (EngineFrontend) tokenizes, validates, streams and maps errors; a back end only
 * queues validated requests and hands their outputs back. Every submitted request ends with
 * exactly one final output (finish reason set) or one fail(), never during submit() itself.
 */
export interface EngineBackend {
  readonly config: ResolvedEngineConfig;
  readonly isReady: boolean;
  /** The most requests it holds at once, queued or running; Infinity when unbounded. */
  readonly maxRequestsHeld: number;
  /**
   * Queues a validated request; `onCommitted` runs once it is committed to the engine's queue,
   * before the engine can see it. Throws EngineOverloadedError when there is no room.
   */
  submit(request: EngineRequest, sink: OutputSink, onCommitted?: () => void): Submission;
  stats(): EngineStats;
  /** Engine replicas serving requests: 1 in this thread, a pool's workers otherwise. */
  readonly numReplicas: number;
  /** Journey tracing counts of each replica that traces in a thread of its own; empty otherwise. */
  replicaTracing(): readonly ReplicaTracing[];
  /** Ends every request still held (as aborted, or failed), and releases threads and memory. */
  shutdown(): Promise<void>;
}
