import type { BlockManager } from './block-manager.js';
import type { FinishReason, Sequence } from './sequence.js';

export interface SchedulerConfig {
  /** Most sequences holding a batch slot (running) at once. */
  readonly maxNumSeqs: number;
  /** Most tokens computed in one step, over all sequences. */
  readonly maxNumBatchedTokens: number;
  /** Split long prompts across steps; when off a prompt is admitted only whole. */
  readonly enableChunkedPrefill: boolean;
  /** End-of-generation tokens (EOS, end of turn, …): they stop every sequence that does not ignore EOS. */
  readonly endOfGenerationIds: readonly number[];
}

/** One sequence's share of a step: compute tokens [numComputedTokens, numComputedTokens + numNewTokens). */
export interface ScheduledSequence {
  readonly seq: Sequence;
  readonly numNewTokens: number;
  /** True when this step computes the sequence's last known token, so a new one is sampled. */
  readonly sample: boolean;
}

export interface SchedulerOutput {
  readonly step: number;
  readonly scheduled: readonly ScheduledSequence[];
  readonly numBatchedTokens: number;
  /** Sequences admitted from waiting this step, with whether it was their first admission. */
  readonly admitted: readonly { seq: Sequence; kind: 'FIRST' | 'RESUME' }[];
  /** Sequences evicted this step to free KV blocks, in eviction order. */
  readonly preempted: readonly Sequence[];
}

/**
 * Continuous batching with chunked prefill and preemption by recompute.
 *
 * Every step: running sequences first, decodes ahead of unfinished prefills so that every
 * decoding sequence advances each step; then, if nothing had to be preempted, waiting sequences
 * are admitted first come first served while the token budget, the sequence cap and the KV cache
 * allow. When a running sequence needs a block and none is free, the most recently admitted
 * sequence not yet scheduled this step is preempted: its blocks are freed and it goes to the
 * front of the waiting queue, to recompute its tokens when it is admitted again.
 */
export class Scheduler {
  readonly waiting: Sequence[] = [];
  readonly running: Sequence[] = [];
  /** Incremented at the start of every schedule() call: the first step is 1; never reset. */
  private stepCounter = 0;
  private preemptions = 0;
  private readonly endOfGeneration: ReadonlySet<number>;

  constructor(
    readonly config: SchedulerConfig,
    readonly blockManager: BlockManager,
  ) {
    if (config.maxNumBatchedTokens < config.maxNumSeqs) {
      throw new RangeError('maxNumBatchedTokens must be at least maxNumSeqs so that every running sequence can decode each step');
    }
    this.endOfGeneration = new Set(config.endOfGenerationIds);
  }

  get step(): number {
    return this.stepCounter;
  }

  /** Preemptions since the scheduler was created. */
  get numPreemptions(): number {
    return this.preemptions;
  }

  get hasUnfinished(): boolean {
    return this.waiting.length > 0 || this.running.length > 0;
  }

  add(seq: Sequence): void {
    // a sequence that could outgrow the whole cache would preempt itself forever
    const longest = seq.numPromptTokens + seq.maxOutputTokens;
    if (this.blockManager.numBlocksFor(longest) > this.blockManager.numBlocks) {
      throw new RangeError(`a sequence of up to ${longest} tokens cannot fit a KV cache of ${this.blockManager.numBlocks} blocks`);
    }
    seq.status = 'waiting';
    this.waiting.push(seq);
  }

  schedule(): SchedulerOutput {
    const step = ++this.stepCounter;
    let budget = this.config.maxNumBatchedTokens;
    const scheduled: ScheduledSequence[] = [];
    const scheduledSet = new Set<Sequence>();
    const preempted: Sequence[] = [];
    const admitted: { seq: Sequence; kind: 'FIRST' | 'RESUME' }[] = [];

    const decoding = this.running.filter((s) => s.numUncomputedTokens === 1);
    const prefilling = this.running.filter((s) => s.numUncomputedTokens > 1);
    for (const seq of [...decoding, ...prefilling]) {
      if (budget === 0) break;
      if (seq.status !== 'running') continue; // preempted earlier in this loop
      const numNewTokens = Math.min(seq.numUncomputedTokens, budget);
      const numTokens = seq.numComputedTokens + numNewTokens;
      while (!this.blockManager.canAllocate(seq, numTokens)) {
        const victim = this.lowestPriorityUnscheduled(scheduledSet, seq);
        this.preempt(victim);
        preempted.push(victim);
        if (victim === seq) break;
      }
      if (seq.status !== 'running') continue;
      this.blockManager.allocate(seq, numTokens);
      scheduled.push({ seq, numNewTokens, sample: this.samples(seq, numNewTokens) });
      scheduledSet.add(seq);
      budget -= numNewTokens;
    }

    // Admitting while evicting would only evict the newcomers next step.
    while (preempted.length === 0 && budget > 0 && this.waiting.length > 0 && this.running.length < this.config.maxNumSeqs) {
      const seq = this.waiting[0];
      // a prompt whose log probabilities were asked for is computed whole: cached blocks would skip positions
      const cachedPrefix = seq.params.promptLogprobs === null ? this.blockManager.findCachedPrefix(seq.tokenIds) : [];
      const numCached = cachedPrefix.length * this.blockManager.blockSize;
      const numNewTokens = Math.min(seq.numTokens - numCached, budget);
      if (!this.config.enableChunkedPrefill && numNewTokens < seq.numTokens - numCached) break;
      const numTokens = numCached + numNewTokens;
      if (!this.blockManager.canAllocate(seq, numTokens, cachedPrefix)) break; // FCFS: nobody overtakes the head
      this.waiting.shift();
      this.blockManager.allocate(seq, numTokens, cachedPrefix);
      seq.numComputedTokens = numCached;
      seq.status = 'running';
      this.running.push(seq);
      admitted.push({ seq, kind: seq.hasBeenScheduled ? 'RESUME' : 'FIRST' });
      seq.hasBeenScheduled = true;
      scheduled.push({ seq, numNewTokens, sample: this.samples(seq, numNewTokens) });
      budget -= numNewTokens;
    }

    return { step, scheduled, numBatchedTokens: this.config.maxNumBatchedTokens - budget, admitted, preempted };
  }

  /**
   * Records a finished step: advances computed tokens, appends each sampling sequence's new
   * token from `sampledTokenIds`, and retires the sequences that finished. Returns those.
   */
  postprocess(output: SchedulerOutput, sampledTokenIds: ReadonlyMap<Sequence, number>): Sequence[] {
    const finished: Sequence[] = [];
    for (const { seq, numNewTokens, sample } of output.scheduled) {
      if (seq.status !== 'running') continue; // finished by an abort while the step ran
      seq.numComputedTokens += numNewTokens;
      seq.prefillHighWater = Math.max(seq.prefillHighWater, Math.min(seq.numComputedTokens, seq.numPromptTokens));
      this.blockManager.markComputed(seq);
      if (seq.maxOutputTokens === 0 && seq.numComputedTokens >= seq.numPromptTokens) {
        // a request that only scores its prompt is done once the prompt is computed
        this.finish(seq, 'length');
        finished.push(seq);
        continue;
      }
      const tokenId = sample ? sampledTokenIds.get(seq) : undefined;
      if (tokenId === undefined) continue;
      seq.tokenIds.push(tokenId);
      const reason = this.stopReason(seq, tokenId);
      if (reason) {
        this.finish(seq, reason);
        finished.push(seq);
      }
    }
    return finished;
  }

  /** Whether this chunk completes the sequence's uncomputed tokens and so yields its next token. */
  private samples(seq: Sequence, numNewTokens: number): boolean {
    return numNewTokens === seq.numUncomputedTokens && seq.maxOutputTokens > 0;
  }

  /** Removes `seq` wherever it is and frees its blocks; false if it had already finished. */
  finish(seq: Sequence, reason: FinishReason): boolean {
    if (seq.status === 'finished') return false;
    const queue = seq.status === 'waiting' ? this.waiting : this.running;
    const index = queue.indexOf(seq);
    if (index >= 0) queue.splice(index, 1);
    this.blockManager.free(seq);
    seq.status = 'finished';
    seq.finishReason = reason;
    return true;
  }

  private stopReason(seq: Sequence, tokenId: number): FinishReason | null {
    if (!seq.params.ignoreEos && this.endOfGeneration.has(tokenId)) return 'stop';
    if (seq.params.stopTokenIds.includes(tokenId)) return 'stop';
    if (seq.numOutputTokens >= seq.maxOutputTokens) return 'length';
    return null;
  }

  /** The running sequence admitted last and not scheduled yet this step, else `current` itself. */
  private lowestPriorityUnscheduled(scheduledSet: ReadonlySet<Sequence>, current: Sequence): Sequence {
    for (let i = this.running.length - 1; i >= 0; i--) {
      const candidate = this.running[i];
      if (candidate !== current && !scheduledSet.has(candidate)) return candidate;
    }
    return current;
  }

  private preempt(seq: Sequence): void {
    this.running.splice(this.running.indexOf(seq), 1);
    this.blockManager.free(seq);
    seq.status = 'waiting';
    seq.numComputedTokens = 0;
    seq.numPreemptions++;
    this.preemptions++;
    this.waiting.unshift(seq);
  }
}
