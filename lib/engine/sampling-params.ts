import { InvalidRequestError } from '../errors.js';
import { numberProblem, type NumberRule } from '../util/number-rule.js';

/** How one sequence picks its next tokens and when it stops. All fields resolved, none optional. */
export interface SamplingParams {
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
  /**
   * Text that ends the sequence with finish reason "stop", matched on the detokenized output
   * where it is detokenized (the caller's thread); the stop string is not part of the output.
   */
  readonly stop: readonly string[];
  /** Keep a stop string that ended the text in the output (vLLM's include_stop_str_in_output). */
  readonly includeStopStrInOutput: boolean;
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

/** What callers may pass; every field is optional and checked. */
export type SamplingParamsInput = Partial<{ -readonly [K in keyof SamplingParams]: SamplingParams[K] }>;

export const DEFAULT_SAMPLING_PARAMS: SamplingParams = Object.freeze({
  temperature: 1,
  topP: 1,
  topK: 0,
  seed: null,
  maxTokens: null,
  stopTokenIds: Object.freeze([]) as readonly number[],
  ignoreEos: false,
  stop: Object.freeze([]) as readonly string[],
  includeStopStrInOutput: false,
  presencePenalty: 0,
  frequencyPenalty: 0,
  repetitionPenalty: 1,
  minP: 0,
  minTokens: 0,
  logitBias: Object.freeze([]) as readonly (readonly [number, number])[],
  logprobs: null,
  promptLogprobs: null,
});

/** The most alternatives a request may ask log probabilities for (OpenAI's top_logprobs limit). */
export const MAX_LOGPROBS = 20;
/** The most logit_bias entries a request may carry (OpenAI's limit). */
export const MAX_LOGIT_BIAS = 300;

/**
 * Temperatures below this sample as greedy: dividing logits by a tiny temperature overflows to
 * infinite logits and NaN probabilities (the same threshold as vLLM's).
 */
export const GREEDY_TEMPERATURE_BELOW = 1e-5;

/** At most this many stop strings, each at most MAX_STOP_LENGTH characters. */
export const MAX_STOP_STRINGS = 16;
export const MAX_STOP_LENGTH = 256;

/**
 * The allowed range of every numeric sampling field, wherever it is checked: the HTTP routes and
 * the engine apply these same rules (OpenAI's limits where OpenAI sets one).
 */
export const SAMPLING_RULES = Object.freeze({
  temperature: { min: 0, max: 2 },
  topP: { min: 0, max: 1, exclusiveMin: true },
  /** -1 is the conventional "off" of other servers, accepted as 0. */
  topK: { min: -1, max: 1 << 20, integer: true },
  seed: { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, integer: true },
  maxTokens: { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
  presencePenalty: { min: -2, max: 2 },
  frequencyPenalty: { min: -2, max: 2 },
  repetitionPenalty: { min: 0, max: 100, exclusiveMin: true },
  minP: { min: 0, max: 1 },
  minTokens: { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
  logitBias: { min: -100, max: 100 },
  logprobs: { min: 0, max: MAX_LOGPROBS, integer: true },
} satisfies Record<string, NumberRule>);

/** Throws InvalidRequestError naming `param` unless `value` keeps `rule`. */
export function checkParam(value: unknown, param: string, rule: NumberRule): void {
  const problem = numberProblem(value, rule);
  if (problem !== null) throw new InvalidRequestError(`${param} ${problem}`, param);
}

/** Validates `input` field by field; the first bad field throws InvalidRequestError naming it. */
export function resolveSamplingParams(input: SamplingParamsInput = {}, vocabSize = Infinity): SamplingParams {
  const p = { ...DEFAULT_SAMPLING_PARAMS, ...dropUndefined(input) };
  checkParam(p.temperature, 'temperature', SAMPLING_RULES.temperature);
  checkParam(p.topP, 'top_p', SAMPLING_RULES.topP);
  checkParam(p.topK, 'top_k', SAMPLING_RULES.topK);
  const topK = p.topK === -1 ? 0 : p.topK;
  if (p.seed !== null) checkParam(p.seed, 'seed', SAMPLING_RULES.seed);
  if (p.maxTokens !== null) checkParam(p.maxTokens, 'max_tokens', SAMPLING_RULES.maxTokens);
  if (!Array.isArray(p.stopTokenIds)) throw new InvalidRequestError('stop_token_ids must be an array', 'stop_token_ids');
  for (const id of p.stopTokenIds) checkParam(id, 'stop_token_ids', { min: 0, max: vocabSize - 1, integer: true });
  if (typeof p.ignoreEos !== 'boolean') throw new InvalidRequestError('ignore_eos must be a boolean', 'ignore_eos');
  if (!Array.isArray(p.stop) || p.stop.length > MAX_STOP_STRINGS) throw new InvalidRequestError(`stop must be an array of at most ${MAX_STOP_STRINGS} strings`, 'stop');
  for (const s of p.stop) {
    if (typeof s !== 'string' || s.length === 0 || s.length > MAX_STOP_LENGTH) {
      throw new InvalidRequestError(`each stop string must be 1 to ${MAX_STOP_LENGTH} characters`, 'stop');
    }
  }
  if (typeof p.includeStopStrInOutput !== 'boolean') throw new InvalidRequestError('include_stop_str_in_output must be a boolean', 'include_stop_str_in_output');
  checkParam(p.presencePenalty, 'presence_penalty', SAMPLING_RULES.presencePenalty);
  checkParam(p.frequencyPenalty, 'frequency_penalty', SAMPLING_RULES.frequencyPenalty);
  checkParam(p.repetitionPenalty, 'repetition_penalty', SAMPLING_RULES.repetitionPenalty);
  checkParam(p.minP, 'min_p', SAMPLING_RULES.minP);
  checkParam(p.minTokens, 'min_tokens', SAMPLING_RULES.minTokens);
  if (p.maxTokens !== null && p.minTokens > p.maxTokens) throw new InvalidRequestError('min_tokens must not exceed max_tokens', 'min_tokens');
  if (!Array.isArray(p.logitBias) || p.logitBias.length > MAX_LOGIT_BIAS) throw new InvalidRequestError(`logit_bias may hold at most ${MAX_LOGIT_BIAS} entries`, 'logit_bias');
  for (const entry of p.logitBias) {
    if (!Array.isArray(entry) || entry.length !== 2) throw new InvalidRequestError('logit_bias entries are [token id, bias] pairs', 'logit_bias');
    checkParam(entry[0], 'logit_bias', { min: 0, max: vocabSize - 1, integer: true });
    checkParam(entry[1], 'logit_bias', SAMPLING_RULES.logitBias);
  }
  if (p.logprobs !== null) checkParam(p.logprobs, 'logprobs', SAMPLING_RULES.logprobs);
  if (p.promptLogprobs !== null) checkParam(p.promptLogprobs, 'prompt_logprobs', SAMPLING_RULES.logprobs);
  const temperature = p.temperature < GREEDY_TEMPERATURE_BELOW ? 0 : p.temperature;
  return Object.freeze({
    ...p,
    temperature,
    topK,
    stopTokenIds: Object.freeze([...p.stopTokenIds]),
    stop: Object.freeze([...p.stop]),
    logitBias: Object.freeze(p.logitBias.map(([id, bias]) => Object.freeze([id, bias] as const))),
  });
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
