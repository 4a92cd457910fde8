/**
 * How one sequence picks its next tokens, and when the engine stops it: everything of a request's
 * sampling that the engine's worker needs. Stop strings are not here: they are matched on the
 * detokenized text, on the thread that detokenizes (engine/sampling-params.ts adds them).
 */
export interface DecodeSpec {
  /** 0 selects greedy decoding (argmax); higher flattens the distribution. */
  readonly temperature: number;
  /** Nucleus sampling: keep the smallest set of tokens whose probability reaches topP. 1 = off. */
  readonly topP: number;
  /** Keep only the topK most likely tokens. 0 = off. */
  readonly topK: number;
  /** Seed of this sequence's private generator; null draws one from the engine's generator. */
  readonly seed: number | null;
  /** Most tokens to generate (0: only compute the prompt, e.g. for its log probabilities); null = until the context window is full. */
  readonly maxTokens: number | null;
  /** Sampling any of these ends the sequence with finish reason "stop". */
  readonly stopTokenIds: readonly number[];
  /** Keep generating past the end-of-sequence token. */
  readonly ignoreEos: boolean;
  /** Subtracted from a token's logit once it has appeared in the output (OpenAI's presence_penalty). */
  readonly presencePenalty: number;
  /** Subtracted from a token's logit once per appearance in the output (OpenAI's frequency_penalty). */
  readonly frequencyPenalty: number;
  /**
   * Divides positive and multiplies negative logits of every token seen in the prompt or the
   * output (CTRL's repetition penalty, as vLLM and llama.cpp apply it). 1 = off.
   */
  readonly repetitionPenalty: number;
  /** Drops tokens less likely than minP × the most likely token's probability. 0 = off. */
  readonly minP: number;
  /** End of generation and stop token ids cannot be sampled, and stop strings do not match, before this many tokens. */
  readonly minTokens: number;
  /** Added to the logits of these token ids before anything else: [tokenId, bias] pairs. */
  readonly logitBias: readonly (readonly [number, number])[];
  /**
   * Log probabilities of each sampled token and of this many most likely alternatives, from the
   * model's raw distribution (before penalties, bias and temperature); null = none.
   */
  readonly logprobs: number | null;
  /** The same for every prompt token after the first; null = none. */
  readonly promptLogprobs: number | null;
}
