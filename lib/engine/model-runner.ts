import type { SchedulerOutput } from '../engine/scheduler.js';
import type { Sequence } from '../engine/sequence.js';
import type { Kernels } from '../model/kernels/kernels.js';
import type { ForwardBatch, LlamaModel } from '../model/llama.js';

/** What one step computed: logits (and, for sampling rows, probabilities) per sampling sequence. */
export interface StepLogits {
  readonly seqs: readonly Sequence[];
  readonly logits: Float32Array; // [seqs.length, vocabSize]
  /** softmax(logits / temperature) per row; rows of greedy sequences are left unset. */
  readonly probs: Float32Array; // [seqs.length, vocabSize]
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

  constructor(
    readonly model: LlamaModel,
    private readonly kernels: Kernels,
    readonly maxSeqs: number,
  ) {
    // every buffer the kernels read comes from the kernels, so a backend can keep it in its memory
    const maxTokens = model.maxTokens;
    const { maxBlocksPerSeq } = model.attentionShape;
    this.tokenIds = kernels.allocateInt32(maxTokens);
    this.positions = kernels.allocateInt32(maxTokens);
    this.slotMapping = kernels.allocateInt32(maxTokens);
    this.tokenSeq = kernels.allocateInt32(maxTokens);
    this.blockTables = kernels.allocateInt32(maxSeqs * maxBlocksPerSeq);
    this.logitRows = kernels.allocateInt32(maxSeqs);
    this.invTemperature = kernels.allocateFloat32(maxSeqs);
    this.probs = kernels.allocateFloat32(maxSeqs * model.config.vocabSize);
  }

  async execute(output: SchedulerOutput): Promise<StepLogits> {
    const batch = this.prepare(output);
    const logits = await this.model.forward(batch);
    const seqs = output.scheduled.filter((s) => s.sample).map((s) => s.seq);
    const vocab = this.model.config.vocabSize;
    for (let i = 0; i < seqs.length; i++) {
      const { temperature } = seqs[i].params;
      // greedy rows need no probabilities; any finite factor keeps the kernel well defined
      this.invTemperature[i] = temperature > 0 ? 1 / temperature : 1;
    }
    if (seqs.some((s) => s.params.temperature > 0)) {
      await this.kernels.softmax(this.probs, logits, this.invTemperature, seqs.length, vocab);
    }
    return { seqs, logits, probs: this.probs.subarray(0, seqs.length * vocab) };
  }

  private prepare(output: SchedulerOutput): ForwardBatch {
    const { blockSize, maxBlocksPerSeq } = this.model.attentionShape;
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
