import type { LLMEngine } from '../engine/llm-engine.js';
import type { CoreTracing } from '../observe/tracing/core-tracing.js';
import {
  NUM_BLOCKS,
  NUM_FREE_BLOCKS,
  NUM_PREEMPTIONS,
  NUM_RUNNING,
  NUM_WAITING,
  OPEN_CORE_SPANS,
  SPANS_DROPPED,
  SPANS_EXPORTED,
  SPANS_FAILED,
  STEP,
  TRACING_ERRORS,
} from '../transport/channels.js';

/** What a worker publishes in its control block, as the API thread reads it back. */
export interface SharedWorkerStats {
  readonly numRunning: number;
  readonly numWaiting: number;
  readonly numFreeKvBlocks: number;
  readonly numKvBlocks: number;
  readonly step: number;
  /** Preemptions since this worker (this incarnation of it) started. */
  readonly numPreemptions: number;
  /** Journey tracing in this worker: open spans, and what became of finished ones. */
  readonly tracing: { readonly openSpans: number; readonly exported: number; readonly dropped: number; readonly failed: number; readonly errors: number };
}

/**
 * Worker side: stores the scheduler's and the tracing's numbers in the control block. Called
 * after every step and before the step's outputs are published, so whoever sees an output sees
 * stats at least as new.
 */
export function publishWorkerStats(control: Int32Array, llm: LLMEngine, tracing: CoreTracing | null): void {
  const { scheduler } = llm;
  Atomics.store(control, NUM_RUNNING, scheduler.running.length);
  Atomics.store(control, NUM_WAITING, scheduler.waiting.length);
  Atomics.store(control, NUM_FREE_BLOCKS, scheduler.blockManager.numFreeBlocks);
  Atomics.store(control, NUM_BLOCKS, scheduler.blockManager.numBlocks);
  Atomics.store(control, STEP, scheduler.step);
  Atomics.store(control, NUM_PREEMPTIONS, scheduler.numPreemptions);
  if (!tracing) return;
  const counts = tracing.tracing?.counts;
  Atomics.store(control, OPEN_CORE_SPANS, tracing.numOpenSpans);
  Atomics.store(control, SPANS_EXPORTED, counts?.exported ?? 0);
  Atomics.store(control, SPANS_DROPPED, counts?.dropped ?? 0);
  Atomics.store(control, SPANS_FAILED, counts?.failed ?? 0);
  Atomics.store(control, TRACING_ERRORS, tracing.numErrors);
}

/** API-thread side: reads what the worker last published. */
export function readWorkerStats(control: Int32Array): SharedWorkerStats {
  return {
    numRunning: Atomics.load(control, NUM_RUNNING),
    numWaiting: Atomics.load(control, NUM_WAITING),
    numFreeKvBlocks: Atomics.load(control, NUM_FREE_BLOCKS),
    numKvBlocks: Atomics.load(control, NUM_BLOCKS),
    step: Atomics.load(control, STEP),
    numPreemptions: Atomics.load(control, NUM_PREEMPTIONS),
    tracing: {
      openSpans: Atomics.load(control, OPEN_CORE_SPANS),
      exported: Atomics.load(control, SPANS_EXPORTED),
      dropped: Atomics.load(control, SPANS_DROPPED),
      failed: Atomics.load(control, SPANS_FAILED),
      errors: Atomics.load(control, TRACING_ERRORS),
    },
  };
}
