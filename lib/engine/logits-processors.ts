import type { Sequence } from './sequence.js';
import type { SamplingParams } from './sampling-params.js';

/** What the penalties need to know of one sequence's tokens, brought up to date incrementally. */
interface SeenTokens {
  /** Output token id → how many times it was generated. */
  readonly outputCounts: Map<number, number>;
  /** Output tokens counted so far. */
  counted: number;
  /** Prompt token ids, for the repetition penalty. */
  readonly prompt: ReadonlySet<number>;
}

/** Whether any processor changes this sequence's logits. */
export function hasLogitsProcessors(p: SamplingParams): boolean {
  return p.logitBias.length > 0 || p.minTokens > 0 || p.presencePenalty !== 0 || p.frequencyPenalty !== 0 || p.repetitionPenalty !== 1;
}

/**
 * Changes one row of logits as the request asks, in vLLM's order: logit bias; end-of-generation
 * and stop token ids masked until min_tokens; then the repetition penalty over prompt and output
 * tokens, and the frequency and presence penalties over output tokens. Every step touches only the
 * tokens concerned (the bias entries, the stop ids, the distinct tokens seen), never the whole row.
 */
export class LogitsProcessors {
  private readonly seen = new WeakMap<Sequence, SeenTokens>();

  constructor(private readonly endOfGenerationIds: readonly number[]) {}

  apply(row: Float32Array, seq: Sequence): void {
    const p = seq.params;
    for (const [tokenId, bias] of p.logitBias) row[tokenId] += bias;
    if (seq.numOutputTokens < p.minTokens) {
      if (!p.ignoreEos) for (const id of this.endOfGenerationIds) row[id] = -Infinity;
      for (const id of p.stopTokenIds) row[id] = -Infinity;
    }
    if (p.repetitionPenalty === 1 && p.presencePenalty === 0 && p.frequencyPenalty === 0) return;
    const seen = this.update(seq);
    if (p.repetitionPenalty !== 1) {
      const penalise = (id: number) => {
        row[id] = row[id] > 0 ? row[id] / p.repetitionPenalty : row[id] * p.repetitionPenalty;
      };
      for (const id of seen.prompt) penalise(id);
      for (const id of seen.outputCounts.keys()) if (!seen.prompt.has(id)) penalise(id);
    }
    if (p.presencePenalty !== 0 || p.frequencyPenalty !== 0) {
      for (const [id, count] of seen.outputCounts) row[id] -= p.frequencyPenalty * count + p.presencePenalty;
    }
  }

  private update(seq: Sequence): SeenTokens {
    let seen = this.seen.get(seq);
    if (!seen) {
      const prompt = seq.params.repetitionPenalty !== 1 ? new Set(seq.tokenIds.slice(0, seq.numPromptTokens)) : new Set<number>();
      seen = { outputCounts: new Map(), counted: 0, prompt };
      this.seen.set(seq, seen);
    }
    for (; seen.counted < seq.numOutputTokens; seen.counted++) {
      const id = seq.tokenIds[seq.numPromptTokens + seen.counted];
      seen.outputCounts.set(id, (seen.outputCounts.get(id) ?? 0) + 1);
    }
    return seen;
  }
}
