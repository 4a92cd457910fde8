import type { DecodeSpec } from '../decode-spec.js';
import type { DecodeSequence, LogitsProcessor } from '../processor.js';

/** OpenAI's logit_bias: each listed token's logit plus its bias, before anything else. */
export class LogitBias implements LogitsProcessor {
  appliesTo(params: DecodeSpec): boolean {
    return params.logitBias.length > 0;
  }

  apply(row: Float32Array, seq: DecodeSequence): void {
    for (const [tokenId, bias] of seq.params.logitBias) row[tokenId] += bias;
  }
}
