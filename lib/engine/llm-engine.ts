import type { ModelRunner } from './model-runner.js';
import { monotonicNs } from '../util/clock.js';
import type { Rng } from '../util/rng.js';
import type { EngineOutput } from './engine-output.js';
import type { TokenLogprobs } from '../decode/logprobs.js';
import type { DecodePipeline } from '../decode/pipeline.js';
import { copyStamps, lifecycleEvent, type LifecycleEvent, type LifecycleEventType, type LifecycleStamps } from './lifecycle.js';
import type { DecodeSpec } from '../decode/decode-spec.js';
import type { Scheduler, SchedulerOutput } from './scheduler.js';
import type { StepProfile } from './step-profile.js';
import type { TraceOptions } from './trace-options.js';
import { Sequence, type CancelReason, type FinishReason } from './sequence.js';
import { validateRequest } from './validate-request.js';

export interface EngineRequest {
  readonly requestId: string;
  readonly promptTokenIds: readonly number[];
  /** How its tokens are chosen; stop strings are not here: the caller's thread matches them on the text. */
  readonly params: DecodeSpec;
  /** Handed to the lifecycle observer with the QUEUED event. */
  readonly trace?: TraceOptions;
}

/** What one sequence got out of one step, with the sequence it belongs to. */
export interface SequenceOutput extends EngineOutput {
  readonly seqId: number;
  readonly requestId: string;
  readonly numPromptTokens: number;
  readonly numOutputTokens: number;
}

export interface LLMEngineOptions {
  readonly vocabSize: number;
  readonly maxModelLen: number;
  /** Masked, with stop token ids, until a request's min_tokens. */
  readonly endOfGenerationIds: readonly number[];
  /** Seeds the generator that gives each unseeded request its own seed. */
  readonly rng: Rng;
  readonly onLifecycle?: (event: LifecycleEvent) => void;
}

interface Tracked {
  readonly seq: Sequence;
  readonly stamps: LifecycleStamps;
}

/**
 * One engine replica, driven one step at a time: schedule → run the model → sample →
 * postprocess. Single-threaded and unaware of how requests reach it.
 */
export class LLMEngine {
  private readonly tracked = new Map<number, Tracked>();
  private nextSeqId = 1;
  private stepping = false;
  /** Aborts that arrived while a step was in flight; applied when it ends. */
  private readonly pendingAborts: { seqId: number; reason: CancelReason }[] = [];
  /** Outputs produced outside a step (aborts), delivered with the next step's. */
  private outbox: SequenceOutput[] = [];

  constructor(
    readonly scheduler: Scheduler,
    private readonly runner: ModelRunner,
    /** How the runner's logits become tokens (processors, probabilities, sampler). */
    private readonly decoder: DecodePipeline,
    private readonly options: LLMEngineOptions,
  ) {}

  get hasWork(): boolean {
    return this.outbox.length > 0 || this.scheduler.hasUnfinished;
  }

  get numRequests(): number {
    return this.tracked.size;
  }

  /** Queues a request; returns its sequence id. */
  addRequest(request: EngineRequest): number {
    validateRequest(request.promptTokenIds, request.params, this.options.vocabSize, this.options.maxModelLen);
    const seed = request.params.seed ?? this.options.rng.nextUint32();
    const seq = new Sequence(this.nextSeqId++, request.requestId, request.promptTokenIds, request.params, this.options.maxModelLen, seed);
    const now = monotonicNs();
    this.tracked.set(seq.seqId, { seq, stamps: { queuedNs: now, scheduledNs: null, firstTokenNs: null, finishedNs: null, preemptions: [] } });
    this.scheduler.add(seq);
    this.emit('QUEUED', seq, now, undefined, request.trace);
    return seq.seqId;
  }

  /**
   * Stops a sequence and frees its blocks; its final output comes with the next step. `stop`
   * is for a caller that found a stop string: the sequence finishes as stopped, not aborted.
   */
  abort(seqId: number, reason: CancelReason = 'abort'): void {
    if (!this.tracked.has(seqId)) return;
    if (this.stepping) this.pendingAborts.push({ seqId, reason });
    else this.finish(seqId, reason);
  }

  /** Finishes every sequence with `reason`, e.g. at shutdown; returns their final outputs. */
  finishAll(reason: FinishReason, error?: string): SequenceOutput[] {
    for (const seqId of [...this.tracked.keys()]) this.finish(seqId, reason, error);
    return this.takeOutbox();
  }

  /** Runs one step; with `profile`, also records what the step did and where its time went. */
  async step(profile?: StepProfile): Promise<SequenceOutput[]> {
    if (!this.scheduler.hasUnfinished) return this.takeOutbox();
    this.stepping = true;
    try {
      await this.runStep(profile);
    } finally {
      this.stepping = false;
      for (const { seqId, reason } of this.pendingAborts.splice(0)) this.finish(seqId, reason);
    }
    return this.takeOutbox();
  }

  private async runStep(profile?: StepProfile): Promise<void> {
    const startedAt = profile ? monotonicNs() : 0n;
    const output = this.scheduler.schedule();
    const scheduledAt = monotonicNs();
    if (profile) this.profileBatch(profile, output, startedAt, scheduledAt);
    for (const seq of output.preempted) {
      this.tracked.get(seq.seqId)?.stamps.preemptions.push({ preemptedNs: scheduledAt, resumedNs: null });
      this.emit('PREEMPTED', seq, scheduledAt);
    }
    for (const { seq, kind } of output.admitted) {
      const tracked = this.tracked.get(seq.seqId) as Tracked;
      tracked.stamps.scheduledNs ??= scheduledAt;
      const gap = tracked.stamps.preemptions.at(-1);
      if (kind === 'RESUME' && gap && gap.resumedNs === null) gap.resumedNs = scheduledAt;
      this.emit('SCHEDULED', seq, scheduledAt, kind);
    }
    if (output.scheduled.length === 0) return;

    const sampled = new Map<Sequence, number>();
    const logprobs = new Map<Sequence, TokenLogprobs>();
    let promptLogprobs: ReadonlyMap<Sequence, TokenLogprobs[]>;
    try {
      const step = await this.runner.execute(output);
      const forwardedAt = profile ? monotonicNs() : 0n;
      promptLogprobs = step.promptLogprobs;
      await this.sample(step.seqs, step.logits, sampled, logprobs);
      if (profile) {
        profile.forwardMs = Number(forwardedAt - scheduledAt) / 1e6;
        profile.sampleMs = Number(monotonicNs() - forwardedAt) / 1e6;
      }
    } catch (err) {
      // the step's sequences fail; the engine and every other sequence carry on
      const message = err instanceof Error ? err.message : String(err);
      for (const { seq } of output.scheduled) this.finish(seq.seqId, 'error', message);
      return;
    }

    const finished = this.scheduler.postprocess(output, sampled);
    const now = monotonicNs();
    for (const [seq, tokenId] of sampled) {
      const tracked = this.tracked.get(seq.seqId);
      if (!tracked) continue;
      if (tracked.stamps.firstTokenNs === null) {
        tracked.stamps.firstTokenNs = now;
        this.emit('FIRST_TOKEN', seq, now);
      }
      if (!seq.isFinished) this.outbox.push(this.outputOf(tracked, [tokenId], now, undefined, logprobs.get(seq), promptLogprobs.get(seq)));
    }
    // a prefill chunk that samples nothing yet still hands over its prompt log probabilities
    for (const [seq, entries] of promptLogprobs) {
      const tracked = this.tracked.get(seq.seqId);
      if (tracked && !sampled.has(seq) && !seq.isFinished) this.outbox.push(this.outputOf(tracked, [], now, undefined, undefined, entries));
    }
    for (const seq of finished) this.retire(seq, now, sampled.has(seq) ? [seq.lastTokenId] : [], undefined, logprobs.get(seq), promptLogprobs.get(seq));
  }

  private profileBatch(profile: StepProfile, output: SchedulerOutput, startedAt: bigint, scheduledAt: bigint): void {
    const blocks = this.scheduler.blockManager;
    profile.step = output.step;
    profile.scheduleMs = Number(scheduledAt - startedAt) / 1e6;
    profile.numSeqs = output.scheduled.length;
    profile.numPreempted = output.preempted.length;
    profile.kvBlocksFree = blocks.numFreeBlocks;
    profile.kvBlocksUsed = blocks.numBlocks - blocks.numFreeBlocks;
    for (const { seq, numNewTokens } of output.scheduled) {
      // a chunk of prompt (or a recomputed prefix after preemption) is prefill; one new token is decode
      const prefill = numNewTokens > 1 || seq.numComputedTokens < seq.numPromptTokens;
      if (prefill) {
        profile.numPrefillSeqs++;
        profile.numPrefillTokens += numNewTokens;
      } else {
        profile.numDecodeSeqs++;
        profile.numDecodeTokens += numNewTokens;
      }
      profile.batch.push({ seqId: seq.seqId, requestId: seq.requestId });
    }
  }

  /** Logits → one token per sampling sequence, through the decode pipeline; log probabilities for those that asked. */
  private async sample(seqs: readonly Sequence[], logits: Float32Array, sampled: Map<Sequence, number>, logprobs: Map<Sequence, TokenLogprobs>): Promise<void> {
    const decoded = await this.decoder.decode(seqs, logits);
    seqs.forEach((seq, i) => {
      sampled.set(seq, decoded.tokens[i]);
      const entry = decoded.logprobs[i];
      if (entry) logprobs.set(seq, entry);
    });
  }

  private finish(seqId: number, reason: FinishReason, error?: string): void {
    const tracked = this.tracked.get(seqId);
    if (!tracked || !this.scheduler.finish(tracked.seq, reason)) return;
    this.retire(tracked.seq, monotonicNs(), [], error);
  }

  /** Emits FINISHED and the final output of a sequence the scheduler has already finished. */
  private retire(seq: Sequence, now: bigint, newTokenIds: number[], error?: string, logprobs?: TokenLogprobs, promptLogprobs?: TokenLogprobs[]): void {
    const tracked = this.tracked.get(seq.seqId);
    if (!tracked) return;
    this.tracked.delete(seq.seqId);
    tracked.stamps.finishedNs = now;
    this.emit('FINISHED', seq, now);
    this.outbox.push(this.outputOf(tracked, newTokenIds, now, error, logprobs, promptLogprobs));
  }

  private outputOf({ seq, stamps }: Tracked, newTokenIds: number[], tsNs: bigint, error?: string, logprobs?: TokenLogprobs, promptLogprobs?: TokenLogprobs[]): SequenceOutput {
    return {
      ...(logprobs && newTokenIds.length > 0 ? { logprobs: [logprobs] } : {}),
      ...(promptLogprobs ? { promptLogprobs } : {}),
      seqId: seq.seqId,
      requestId: seq.requestId,
      newTokenIds,
      finishReason: seq.finishReason,
      error: error ?? null,
      numPromptTokens: seq.numPromptTokens,
      numOutputTokens: seq.numOutputTokens,
      stamps: copyStamps(stamps),
      tsNs,
    };
  }

  private takeOutbox(): SequenceOutput[] {
    const out = this.outbox;
    this.outbox = [];
    return out;
  }

  private emit(type: LifecycleEventType, seq: Sequence, tsNs: bigint, scheduleKind?: 'FIRST' | 'RESUME', trace?: TraceOptions): void {
    const { onLifecycle } = this.options;
    if (!onLifecycle) return; // nothing is built when nobody listens
    const event = lifecycleEvent(type, seq, this.scheduler.step, tsNs);
    onLifecycle(scheduleKind || trace ? { ...event, ...(scheduleKind ? { scheduleKind } : {}), ...(trace ? { trace } : {}) } : event);
  }
}
