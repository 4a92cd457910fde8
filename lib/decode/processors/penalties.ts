import type { DecodeSpec } from '../decode-spec.js';
import type { DecodeSequence, LogitsProcessor } from '../processor.js';

/** What the penalties need to know of one sequence's tokens, brought up to date from its ids. */
interface SeenTokens {
  /** Output token id → how many times it was generated. */
  readonly outputCounts: Map<number, number>;
  /** Output tokens counted so far. */
  counted: number;
  /** Prompt token ids, for the repetition penalty. */
  readonly prompt: ReadonlySet<number>;
}

/**
 * The repetition penalty over prompt and output tokens (CTRL's, as vLLM and llama.cpp apply it:
 * positive logits divided, negative multiplied), then the frequency and presence penalties over
 * output tokens (OpenAI's). Each step touches only the distinct tokens seen, never the whole row;
 * the counts are kept per sequence and caught up from the tokens it has generated since.
 */
export class Penalties implements LogitsProcessor {
  private readonly seen = new WeakMap<DecodeSequence, SeenTokens>();

  appliesTo(p: DecodeSpec): boolean {
    return p.repetitionPenalty !== 1 || p.presencePenalty !== 0 || p.frequencyPenalty !== 0;
  }

  apply(row: Float32Array, seq: DecodeSequence): void {
    const p = seq.params;
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

  private update(seq: DecodeSequence): SeenTokens {
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
