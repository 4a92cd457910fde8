import type { DecodeSpec } from './decode-spec.js';

/** What decoding sees of a sequence: its tokens (prompt, then output) and how it is to be decoded. */
export interface DecodeSequence {
  /** Prompt ids followed by every generated id. */
  readonly tokenIds: readonly number[];
  readonly numPromptTokens: number;
  readonly numOutputTokens: number;
  readonly params: DecodeSpec;
}

/**
 * One step of turning a row of logits into a choice: it changes the logits of a sequence in place
 * (a bias, a mask, a penalty, later a grammar's mask). What it keeps per sequence it brings up to
 * date from the sequence's token ids each time it is applied, so a sequence preempted and
 * recomputed (same ids) or resumed needs nothing done, and a new processor needs no new hook.
 */
export interface LogitsProcessor {
  /** Whether it changes this sequence's logits at all: the pipeline skips it (and copies nothing) otherwise. */
  appliesTo(params: DecodeSpec): boolean;
  /** Changes `row` [vocabSize], the logits of `seq`'s next token, in place. */
  apply(row: Float32Array, seq: DecodeSequence): void;
}
