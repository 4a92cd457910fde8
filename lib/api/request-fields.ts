import { InvalidRequestError } from '../errors.js';
import { boundText } from '../util/bound-text.js';

/**
 * Every request field each generation route knows, in one place, and what the server does with
 * it. A field is either implemented, accepted (OpenAI clients send it by default and it changes
 * nothing a stateless server does), or not implemented: refused with a 400 naming it unless its
 * value asks for nothing (null, false, an empty list or object). A field in no list is refused
 * as unrecognized. No field is ever silently dropped. The README lists the same table.
 */
export type GenerationRoute = 'chat' | 'completion' | 'responses';

interface FieldPolicy {
  readonly implemented: readonly string[];
  /** Accepted and without effect: metadata, the end-user id, storage hints of a stateless server. */
  readonly accepted: readonly string[];
  readonly notImplemented: readonly string[];
}

const SAMPLING = [
  'temperature', 'top_p', 'top_k', 'min_p', 'seed', 'stop', 'stop_token_ids', 'ignore_eos', 'min_tokens',
  'presence_penalty', 'frequency_penalty', 'repetition_penalty', 'logit_bias', 'include_stop_str_in_output',
];

export const FIELD_POLICY: Readonly<Record<GenerationRoute, FieldPolicy>> = {
  chat: {
    implemented: ['model', 'messages', 'max_tokens', 'max_completion_tokens', 'n', 'stream', 'stream_options', 'logprobs', 'top_logprobs', 'response_format', 'include_metrics', ...SAMPLING],
    accepted: ['user', 'metadata', 'store', 'parallel_tool_calls', 'service_tier'],
    notImplemented: ['tools', 'tool_choice', 'functions', 'function_call', 'audio', 'modalities', 'prediction', 'reasoning_effort', 'web_search_options', 'prompt_logprobs', 'echo'],
  },
  completion: {
    implemented: ['model', 'prompt', 'max_tokens', 'n', 'best_of', 'stream', 'stream_options', 'echo', 'logprobs', 'prompt_logprobs', 'include_metrics', ...SAMPLING],
    accepted: ['user', 'metadata', 'store', 'service_tier'],
    notImplemented: ['suffix'],
  },
  responses: {
    implemented: ['model', 'input', 'instructions', 'max_output_tokens', 'temperature', 'top_p', 'stream', 'text'],
    accepted: ['user', 'metadata', 'store', 'parallel_tool_calls', 'service_tier', 'truncation'],
    notImplemented: ['previous_response_id', 'tools', 'tool_choice', 'reasoning', 'include', 'background', 'conversation', 'prompt', 'max_tool_calls', 'top_logprobs'],
  },
};

/** Values that ask for nothing, so that clients that always send a field with them are served. */
function asksForNothing(value: unknown): boolean {
  if (value === null || value === undefined || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/** Throws a 400 naming the first field of `body` this route refuses. */
export function checkRequestFields(body: Readonly<Record<string, unknown>>, route: GenerationRoute): void {
  const policy = FIELD_POLICY[route];
  for (const key of Object.keys(body)) {
    if (policy.implemented.includes(key) || policy.accepted.includes(key)) continue;
    if (policy.notImplemented.includes(key)) {
      if (asksForNothing(body[key])) continue;
      throw new InvalidRequestError(`${key} is not supported by this server`, key, 'unsupported_parameter');
    }
    throw new InvalidRequestError(`Unrecognized request argument supplied: ${boundText(key, 64)}`, boundText(key, 64), 'unknown_parameter');
  }
}
