import { InvalidRequestError } from '../errors.js';
import { numberProblem, type NumberRule } from '../util/number-rule.js';

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

