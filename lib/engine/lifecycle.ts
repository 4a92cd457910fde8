import type { FinishReason, Sequence } from './sequence.js';
import type { TraceOptions } from './trace-options.js';

export type LifecycleEventType = 'QUEUED' | 'SCHEDULED' | 'FIRST_TOKEN' | 'PREEMPTED' | 'FINISHED';
export type LifecyclePhase = 'WAITING' | 'PREFILL' | 'DECODE';
export type FinishStatus = 'stopped' | 'length' | 'aborted' | 'error';

/**
 * Something that happened to one sequence inside the engine, with the counters the tracing
 * contract (docs/journey-tracing.md §3) attaches to every core event. Plain data: the engine emits
 * these whether or not anything traces them.
 */
export interface LifecycleEvent {
  readonly type: LifecycleEventType;
  readonly seqId: number;
  readonly requestId: string;
  /** process-wide monotonic clock, nanoseconds */
  readonly tsNs: bigint;
  /** the scheduler's step counter: 0 before the first step */
  readonly step: number;
  readonly phase: LifecyclePhase;
  readonly prefillDoneTokens: number;
  readonly prefillTotalTokens: number;
  readonly decodeDoneTokens: number;
  readonly decodeMaxTokens: number;
  readonly numPreemptions: number;
  /** SCHEDULED only */
  readonly scheduleKind?: 'FIRST' | 'RESUME';
  /** FINISHED only */
  readonly finishStatus?: FinishStatus;
  /** QUEUED only: the request's trace context and sampling decision, when it has one */
  readonly trace?: TraceOptions;
}

/** One preemption: when the sequence lost its batch slot, and when it was scheduled again (null until then). */
export interface PreemptionStamps {
  readonly preemptedNs: bigint;
  resumedNs: bigint | null;
}

/** When a sequence reached each milestone, on the monotonic clock; null until it does. */
export interface LifecycleStamps {
  queuedNs: bigint;
  /** The first SCHEDULED (FIRST); a resume after preemption is in `preemptions`. */
  scheduledNs: bigint | null;
  firstTokenNs: bigint | null;
  finishedNs: bigint | null;
  /** Every PREEMPTED and the SCHEDULED (RESUME) that ended it, in order. */
  readonly preemptions: PreemptionStamps[];
}

/** A copy that later stamps do not change. */
export function copyStamps(s: Readonly<LifecycleStamps>): LifecycleStamps {
  return { ...s, preemptions: s.preemptions.map((p) => ({ ...p })) };
}

const FINISH_STATUS: Readonly<Record<FinishReason, FinishStatus>> = {
  stop: 'stopped',
  length: 'length',
  abort: 'aborted',
  error: 'error',
};

export function lifecycleEvent(type: LifecycleEventType, seq: Sequence, step: number, tsNs: bigint): LifecycleEvent {
  return {
    type,
    seqId: seq.seqId,
    requestId: seq.requestId,
    tsNs,
    step,
    phase: type === 'QUEUED' ? 'WAITING' : seq.numOutputTokens === 0 ? 'PREFILL' : 'DECODE',
    prefillDoneTokens: seq.prefillHighWater,
    prefillTotalTokens: seq.numPromptTokens,
    decodeDoneTokens: seq.numOutputTokens,
    decodeMaxTokens: seq.maxOutputTokens,
    numPreemptions: seq.numPreemptions,
    ...(type === 'FINISHED' && seq.finishReason ? { finishStatus: FINISH_STATUS[seq.finishReason] } : {}),
  };
}
