import { InvalidRequestError } from '../errors.js';

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

/** At most this many stop strings, each at most MAX_STOP_LENGTH characters. */
export const MAX_STOP_STRINGS = 16;
export const MAX_STOP_LENGTH = 256;

/** Validates `input` field by field; the first bad field throws InvalidRequestError naming it. */
export function resolveSamplingParams(input: SamplingParamsInput = {}, vocabSize = Infinity): SamplingParams {
  const p = { ...DEFAULT_SAMPLING_PARAMS, ...dropUndefined(input) };
  checkNumber(p.temperature, 'temperature', 0, 100);
  checkNumber(p.topP, 'top_p', 0, 1);
  if (p.topP === 0) throw new InvalidRequestError('top_p must be in (0, 1]', 'top_p');
  // -1 is the conventional "off" of other servers; accept it as 0
  const topK = p.topK === -1 ? 0 : p.topK;
  checkInteger(topK, 'top_k', 0, Number.MAX_SAFE_INTEGER);
  if (p.seed !== null) checkInteger(p.seed, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (p.maxTokens !== null) checkInteger(p.maxTokens, 'max_tokens', 1, Number.MAX_SAFE_INTEGER);
  if (!Array.isArray(p.stopTokenIds)) throw new InvalidRequestError('stop_token_ids must be an array', 'stop_token_ids');
  for (const id of p.stopTokenIds) checkInteger(id, 'stop_token_ids', 0, vocabSize - 1);
  if (typeof p.ignoreEos !== 'boolean') throw new InvalidRequestError('ignore_eos must be a boolean', 'ignore_eos');
  if (!Array.isArray(p.stop) || p.stop.length > MAX_STOP_STRINGS) throw new InvalidRequestError(`stop must be an array of at most ${MAX_STOP_STRINGS} strings`, 'stop');
  for (const s of p.stop) {
    if (typeof s !== 'string' || s.length === 0 || s.length > MAX_STOP_LENGTH) {
      throw new InvalidRequestError(`each stop string must be 1 to ${MAX_STOP_LENGTH} characters`, 'stop');
    }
  }
  return Object.freeze({ ...p, topK, stopTokenIds: Object.freeze([...p.stopTokenIds]), stop: Object.freeze([...p.stop]) });
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function checkNumber(v: unknown, param: string, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidRequestError(`${param} must be a number`, param);
  if (v < min || v > max) throw new InvalidRequestError(`${param} must be between ${min} and ${max}, got ${v}`, param);
}

function checkInteger(v: unknown, param: string, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new InvalidRequestError(`${param} must be an integer`, param);
  if (v < min || v > max) throw new InvalidRequestError(`${param} must be between ${min} and ${max}, got ${v}`, param);
}
