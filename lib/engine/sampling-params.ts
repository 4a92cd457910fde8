import type { DecodeSpec } from '../decode/decode-spec.js';
import { checkParam, GREEDY_TEMPERATURE_BELOW, MAX_LOGIT_BIAS, MAX_STOP_LENGTH, MAX_STOP_STRINGS, SAMPLING_RULES } from '../decode/rules.js';
import { InvalidRequestError } from '../errors.js';


/** A request's sampling, resolved: its decode spec, and the stop strings matched on its text. */
export interface SamplingParams extends DecodeSpec {
  /**
   * Text that ends the sequence with finish reason "stop", matched on the detokenized output
   * where it is detokenized (the caller's thread); the stop string is not part of the output.
   */
  readonly stop: readonly string[];
  /** Keep a stop string that ended the text in the output (vLLM's include_stop_str_in_output). */
  readonly includeStopStrInOutput: boolean;
}

/** The part of `params` the engine computes with: all but the stop strings, which the caller's thread matches. */
export function decodeSpecOf(params: SamplingParams): DecodeSpec {
  const { stop: _stop, includeStopStrInOutput: _include, ...spec } = params;
  return spec;
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
