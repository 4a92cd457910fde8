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
  /** Most tokens to generate; null = until the context window is full. */
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
});

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
  maxTokens: { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true },
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
  const temperature = p.temperature < GREEDY_TEMPERATURE_BELOW ? 0 : p.temperature;
  return Object.freeze({ ...p, temperature, topK, stopTokenIds: Object.freeze([...p.stopTokenIds]), stop: Object.freeze([...p.stop]) });
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
