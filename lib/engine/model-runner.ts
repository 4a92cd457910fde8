import type { SchedulerOutput } from './scheduler.js';
import type { Sequence } from './sequence.js';
import type { Kernels } from '../backends/kernels.js';
import type { ForwardBatch, Model } from '../models/model.js';
import { logprobsOf, logSumExp, type TokenLogprobs } from '../decode/logprobs.js';
import type { SamplingSequence } from '../decode/pipeline.js';

/** What one step computed: raw logits per sampling sequence, and any prompt log probabilities. */
export interface StepLogits {
  readonly seqs: readonly Sequence[];
  readonly logits: Float32Array; // [seqs.length, vocabSize]
  /** Prompt positions computed in this step, for the sequences that asked for their log probabilities. */
  readonly promptLogprobs: ReadonlyMap<Sequence, TokenLogprobs[]>;
}

/**
 * Turns a scheduler decision into the model's flat batch and runs it. All index buffers are
 * allocated once, for the largest step the scheduler can produce.
 */
export class ModelRunner {
  private readonly tokenIds: Int32Array; // [maxTokens]
  private readonly positions: Int32Array; // [maxTokens]
  private readonly slotMapping: Int32Array; // [maxTokens]
  private readonly tokenSeq: Int32Array; // [maxTokens]
  private readonly blockTables: Int32Array; // [maxSeqs, maxBlocksPerSeq]
  private readonly logitRows: Int32Array; // [maxSeqs]
  private readonly invTemperature: Float32Array; // [maxSeqs]
  private readonly probs: Float32Array; // [maxSeqs, vocabSize]
  private readonly promptRows: Int32Array; // [maxTokens] batch rows whose next prompt token's log probability is wanted
  /** Prompt positions whose log probabilities each sequence has had, so a recomputed prefill does not repeat them. */
  private readonly promptLogprobsDone = new WeakMap<Sequence, number>();

  constructor(
    readonly model: Model,
    private readonly kernels: Kernels,
    readonly maxSeqs: number,
  ) {
    // every buffer the kernels read comes from the kernels, so a backend can keep it in its memory
    const { maxTokens, maxBlocksPerSeq } = model.shape;
    this.tokenIds = kernels.allocateInt32(maxTokens);
    this.positions = kernels.allocateInt32(maxTokens);
    this.slotMapping = kernels.allocateInt32(maxTokens);
    this.tokenSeq = kernels.allocateInt32(maxTokens);
    this.blockTables = kernels.allocateInt32(maxSeqs * maxBlocksPerSeq);
    this.logitRows = kernels.allocateInt32(maxSeqs);
    this.invTemperature = kernels.allocateFloat32(maxSeqs);
    this.probs = kernels.allocateFloat32(maxSeqs * model.config.vocabSize);
    this.promptRows = new Int32Array(maxTokens);
  }

  /** Runs the step's batch; returns the raw logits of the sampling rows, which the caller may process in place. */
  async execute(output: SchedulerOutput): Promise<StepLogits> {
    const batch = this.prepare(output);
    const logits = await this.model.forward(batch);
    const seqs = output.scheduled.filter((s) => s.sample).map((s) => s.seq);
    const promptLogprobs = await this.promptLogprobs(output);
    return { seqs, logits, promptLogprobs };
  }

  /** softmax(logits / temperature) per row [seqs.length, vocabSize]; rows of greedy sequences are left unset. */
  async probabilities(seqs: readonly SamplingSequence[], logits: Float32Array): Promise<Float32Array> {
    const vocab = this.model.config.vocabSize;
    for (let i = 0; i < seqs.length; i++) {
      const { temperature } = seqs[i].params;
      // greedy rows need no probabilities; any finite factor keeps the kernel well defined
      this.invTemperature[i] = temperature > 0 ? 1 / temperature : 1;
    }
    if (seqs.some((s) => s.params.temperature > 0)) {
      await this.kernels.softmax(this.probs, logits, this.invTemperature, seqs.length, vocab);
    }
    return this.probs.subarray(0, seqs.length * vocab);
  }

  /**
   * The log probability of each prompt token this step's prefill predicted (from the row of the
   * token before it), with the alternatives asked for, computed a few rows at a time.
   */
  private async promptLogprobs(output: SchedulerOutput): Promise<Map<Sequence, TokenLogprobs[]>> {
    const found = new Map<Sequence, TokenLogprobs[]>();
    let row = 0;
    let count = 0;
    const wanted: { seq: Sequence; position: number }[] = [];
    for (const { seq, numNewTokens } of output.scheduled) {
      const start = seq.numComputedTokens;
      if (seq.params.promptLogprobs === null) {
        row += numNewTokens;
        continue;
      }
      let done = this.promptLogprobsDone.get(seq) ?? 0;
      for (let i = 0; i < numNewTokens; i++, row++) {
        const next = start + i + 1; // the prompt position this row predicts
        if (next >= seq.numPromptTokens || next <= done) continue;
        this.promptRows[count++] = row;
        wanted.push({ seq, position: next });
        done = next;
      }
      this.promptLogprobsDone.set(seq, done);
    }
    const vocab = this.model.config.vocabSize;
    const chunk = this.model.maxRowLogits;
    for (let first = 0; first < count; first += chunk) {
      const n = Math.min(chunk, count - first);
      const logits = await this.model.rowLogits(this.promptRows.subarray(first, first + n), n);
      for (let i = 0; i < n; i++) {
        const { seq, position } = wanted[first + i];
        const raw = logits.subarray(i * vocab, (i + 1) * vocab);
        const entry = logprobsOf(raw, logSumExp(raw), seq.tokenIds[position], seq.params.promptLogprobs ?? 0);
        const list = found.get(seq) ?? [];
        list.push(entry);
        found.set(seq, list);
      }
    }
    return found;
  }

  private prepare(output: SchedulerOutput): ForwardBatch {
    const { blockSize, maxBlocksPerSeq } = this.model.shape;
    let numTokens = 0;
    let numLogits = 0;
    output.scheduled.forEach(({ seq, numNewTokens, sample }, row) => {
      const table = seq.blockTable;
      for (let b = 0; b < table.length; b++) this.blockTables[row * maxBlocksPerSeq + b] = table[b];
      for (let i = 0; i < numNewTokens; i++) {
        const position = seq.numComputedTokens + i;
        this.tokenIds[numTokens] = seq.tokenIds[position];
        this.positions[numTokens] = position;
        this.slotMapping[numTokens] = table[Math.floor(position / blockSize)] * blockSize + (position % blockSize);
        this.tokenSeq[numTokens] = row;
        numTokens++;
      }
      if (sample) this.logitRows[numLogits++] = numTokens - 1;
    });
    return {
      numTokens,
      tokenIds: this.tokenIds,
      positions: this.positions,
      slotMapping: this.slotMapping,
      tokenSeq: this.tokenSeq,
      blockTables: this.blockTables,
      logitRows: this.logitRows,
      numLogits,
    };
  }
}
