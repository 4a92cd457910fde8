import type { DecodeSpec } from '../decode-spec.js';
import type { DecodeSequence, LogitsProcessor } from '../processor.js';

/** vLLM's min_tokens: end-of-generation (unless EOS is ignored) and stop token ids cannot be sampled before that many tokens. */
export class MinTokens implements LogitsProcessor {
  constructor(private readonly endOfGenerationIds: readonly number[]) {}

  appliesTo(params: DecodeSpec): boolean {
    return params.minTokens > 0;
  }

  apply(row: Float32Array, seq: DecodeSequence): void {
    const p = seq.params;
    if (seq.numOutputTokens >= p.minTokens) return;
    if (!p.ignoreEos) for (const id of this.endOfGenerationIds) row[id] = -Infinity;
    for (const id of p.stopTokenIds) row[id] = -Infinity;
  }
}
