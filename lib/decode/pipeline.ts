import type { Rng } from '../util/rng.js';
import { logprobsOf, logSumExp, type TokenLogprobs } from './logprobs.js';
import type { DecodeSequence, LogitsProcessor } from './processor.js';
import { LogitBias } from './processors/logit-bias.js';
import { MinTokens } from './processors/min-tokens.js';
import { Penalties } from './processors/penalties.js';
import type { Sampler } from './sampler.js';

/** A sequence as the pipeline decodes it: its tokens and spec, and its own generator. */
export interface SamplingSequence extends DecodeSequence {
  readonly rng: Rng;
}

/** softmax(row / temperature) for each sampling row, [seqs.length, vocabSize] (greedy rows may be left unset). */
export type Probabilities = (seqs: readonly SamplingSequence[], logits: Float32Array) => Promise<Float32Array>;

/** The processors every engine applies, in vLLM's order: logit bias, then min_tokens, then the penalties. */
export function defaultLogitsProcessors(endOfGenerationIds: readonly number[]): LogitsProcessor[] {
  return [new LogitBias(), new MinTokens(endOfGenerationIds), new Penalties()];
}

/** Applies, in order, each of `processors` that applies to `seq`, to its row of logits. */
export function applyLogitsProcessors(processors: readonly LogitsProcessor[], row: Float32Array, seq: DecodeSequence): void {
  for (const p of processors) if (p.appliesTo(seq.params)) p.apply(row, seq);
}

/**
 * How a step's rows of logits become tokens: the raw log probabilities first (for sequences that
 * asked, from the model's own distribution), then each logits processor that applies, then the
 * tempered probabilities, then the sampler.
 */
export class DecodePipeline {
  constructor(
    private readonly vocabSize: number,
    private readonly processors: readonly LogitsProcessor[],
    private readonly sampler: Sampler,
    private readonly probabilities: Probabilities,
  ) {}

  /** One token per sequence from `logits` [seqs.length, vocabSize] (changed in place), with its log probabilities when asked for. */
  async decode(seqs: readonly SamplingSequence[], logits: Float32Array): Promise<{ tokens: number[]; logprobs: (TokenLogprobs | undefined)[] }> {
    const vocab = this.vocabSize;
    const raws: ({ row: Float32Array; lse: number } | null)[] = [];
    for (let i = 0; i < seqs.length; i++) {
      const row = logits.subarray(i * vocab, (i + 1) * vocab);
      const processed = this.processors.some((p) => p.appliesTo(seqs[i].params));
      // the raw distribution is what log probabilities report: copied before a processor changes it
      const raw = seqs[i].params.logprobs === null ? null : processed ? row.slice() : row;
      raws.push(raw ? { row: raw, lse: logSumExp(raw) } : null);
      if (processed) applyLogitsProcessors(this.processors, row, seqs[i]);
    }
    const probs = await this.probabilities(seqs, logits);
    const tokens: number[] = [];
    const logprobs: (TokenLogprobs | undefined)[] = [];
    for (let i = 0; i < seqs.length; i++) {
      const at = i * vocab;
      const tokenId = this.sampler.sample(logits.subarray(at, at + vocab), probs.subarray(at, at + vocab), seqs[i].params, seqs[i].rng);
      tokens.push(tokenId);
      const raw = raws[i];
      logprobs.push(raw ? logprobsOf(raw.row, raw.lse, tokenId, seqs[i].params.logprobs ?? 0) : undefined);
    }
    return { tokens, logprobs };
  }
}
