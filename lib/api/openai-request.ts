import { checkParam, SAMPLING_RULES } from '../decode/rules.js';
import type { SamplingParamsInput } from '../engine/sampling-params.js';
import { InvalidRequestError } from '../errors.js';
import { boundText } from '../util/bound-text.js';
import type { NumberRule } from '../util/number-rule.js';
import type { ChatMessage } from '../tokenizer/chat-message.js';
import { checkRequestFields } from './request-fields.js';

/** What a generation request asks for, whatever route it came by. */
export interface GenerationFields {
  /** The model the client named; null when it named none (the server's own is meant). */
  readonly model: string | null;
  /** null: as many as the context window leaves. */
  readonly maxTokens: number | null;
  /** Sampling as the engine takes it; only fields the client gave are set. */
  readonly sampling: SamplingParamsInput;
  readonly n: number;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  /** Log probabilities of each sampled token with this many alternatives; null = none. */
  readonly logprobs: number | null;
  /** The request's include_metrics; undefined: as the server is configured. */
  readonly includeMetrics?: boolean;
}

export interface ChatRequest extends GenerationFields {
  readonly messages: readonly ChatMessage[];
}

export interface CompletionRequest extends GenerationFields {
  /** Each prompt as text or as token ids. */
  readonly prompts: readonly (string | readonly number[])[];
  readonly echo: boolean;
  /** Log probabilities of the prompt's tokens (vLLM's prompt_logprobs, or logprobs with echo); null = none. */
  readonly promptLogprobs: number | null;
}

export const MAX_N = 128;
const MAX_PROMPTS = 64;
const ROLES: Readonly<Record<string, ChatMessage['role']>> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant' };

type Body = Record<string, unknown>;

export function parseChatRequest(raw: unknown): ChatRequest {
  const body = asObject(raw);
  checkRequestFields(body, 'chat');
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) throw invalid('messages must be a non-empty array', 'messages');
  const logprobs = optionalBoolean(body.logprobs, 'logprobs') ?? false;
  const top = optional(body.top_logprobs, 'top_logprobs', SAMPLING_RULES.logprobs);
  if (top !== undefined && !logprobs) throw invalid('top_logprobs requires logprobs to be true', 'top_logprobs');
  if (body.response_format !== undefined && body.response_format !== null) {
    if (asObject(body.response_format, 'response_format').type !== 'text') throw invalid('only response_format {"type": "text"} is supported', 'response_format');
  }
  return {
    ...generationFields(body, null, ['max_completion_tokens', 'max_tokens'], 1),
    logprobs: logprobs ? (top ?? 0) : null,
    messages: messages.map((m, i) => parseMessage(m, `messages[${i}]`)),
  };
}

export function parseCompletionRequest(raw: unknown): CompletionRequest {
  const body = asObject(raw);
  checkRequestFields(body, 'completion');
  if (body.suffix !== undefined && body.suffix !== null && body.suffix !== '') throw invalid('suffix is not supported', 'suffix');
  const echo = optionalBoolean(body.echo, 'echo') ?? false;
  // max_tokens 0 with echo scores a prompt without generating (lm-evaluation-harness does this)
  const fields = generationFields(body, 16, ['max_tokens'], echo ? 0 : 1);
  if (body.best_of !== undefined && body.best_of !== null && body.best_of !== fields.n) throw invalid('best_of is not supported unless equal to n', 'best_of');
  const prompts = parsePrompts(body.prompt);
  if (prompts.length * fields.n > MAX_N) throw invalid(`at most ${MAX_N} completions per request (prompts × n)`, 'n');
  const logprobs = optional(body.logprobs, 'logprobs', SAMPLING_RULES.logprobs) ?? null;
  const promptLogprobs = optional(body.prompt_logprobs, 'prompt_logprobs', SAMPLING_RULES.logprobs) ?? (echo && logprobs !== null ? logprobs : null);
  return { ...fields, logprobs, prompts, echo, promptLogprobs };
}

/** The fields the chat and completions routes share; `minMaxTokens` is 0 where a request may only score its prompt. */
function generationFields(body: Body, defaultMaxTokens: number | null, maxTokenKeys: string[], minMaxTokens: number): Omit<GenerationFields, 'logprobs'> {
  let maxTokens = defaultMaxTokens;
  for (const key of maxTokenKeys) {
    const value = optional(body[key], key, { ...SAMPLING_RULES.maxTokens, min: minMaxTokens });
    if (value !== undefined) {
      maxTokens = value;
      break;
    }
  }
  const stream = optionalBoolean(body.stream, 'stream') ?? false;
  let includeUsage = false;
  if (body.stream_options !== undefined && body.stream_options !== null) {
    if (!stream) throw invalid('stream_options is only allowed when stream is true', 'stream_options');
    includeUsage = optionalBoolean(asObject(body.stream_options, 'stream_options').include_usage, 'stream_options.include_usage') ?? false;
  }
  if (body.user !== undefined && body.user !== null && typeof body.user !== 'string') throw invalid('user must be a string', 'user');
  const includeMetrics = optionalBoolean(body.include_metrics, 'include_metrics');
  return {
    model: parseModel(body.model),
    maxTokens,
    ...(includeMetrics !== undefined ? { includeMetrics } : {}),
    sampling: samplingFields(body),
    n: optional(body.n, 'n', { min: 1, max: MAX_N, integer: true }) ?? 1,
    stream,
    includeUsage,
  };
}

/** The model field is optional, as vLLM has it: absent, the server's own model is meant. */
export function parseModel(model: unknown): string | null {
  if (model === undefined || model === null) return null;
  if (typeof model !== 'string' || model === '') throw invalid('model must be a non-empty string', 'model');
  return model;
}

/** The sampling fields both routes take, checked here so that the 400 names the field as the client spelt it. */
export function samplingFields(body: Body): SamplingParamsInput {
  const out: SamplingParamsInput = {};
  const set = <K extends keyof SamplingParamsInput>(key: K, value: SamplingParamsInput[K] | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set('temperature', optional(body.temperature, 'temperature', SAMPLING_RULES.temperature));
  set('topP', optional(body.top_p, 'top_p', SAMPLING_RULES.topP));
  set('topK', optional(body.top_k, 'top_k', SAMPLING_RULES.topK));
  set('minP', optional(body.min_p, 'min_p', SAMPLING_RULES.minP));
  set('seed', optional(body.seed, 'seed', SAMPLING_RULES.seed));
  set('presencePenalty', optional(body.presence_penalty, 'presence_penalty', SAMPLING_RULES.presencePenalty));
  set('frequencyPenalty', optional(body.frequency_penalty, 'frequency_penalty', SAMPLING_RULES.frequencyPenalty));
  set('repetitionPenalty', optional(body.repetition_penalty, 'repetition_penalty', SAMPLING_RULES.repetitionPenalty));
  set('minTokens', optional(body.min_tokens, 'min_tokens', SAMPLING_RULES.minTokens));
  set('ignoreEos', optionalBoolean(body.ignore_eos, 'ignore_eos'));
  set('includeStopStrInOutput', optionalBoolean(body.include_stop_str_in_output, 'include_stop_str_in_output'));
  set('stop', parseStop(body.stop));
  set('stopTokenIds', parseTokenIds(body.stop_token_ids, 'stop_token_ids'));
  set('logitBias', parseLogitBias(body.logit_bias));
  return out;
}

/**
 * What a message may carry besides its role and content: OpenAI's other message fields, refused
 * by name unless they ask for nothing (tools are not served yet, and a name the template never
 * sees would be silently dropped); anything else is unknown.
 */
const MESSAGE_FIELDS_NOT_SERVED = ['name', 'tool_calls', 'tool_call_id', 'function_call', 'refusal', 'audio', 'annotations', 'reasoning_content'];

/** Throws naming the first field of message `m` that this server does not take. */
export function checkMessageFields(m: Readonly<Record<string, unknown>>, param: string, known: readonly string[] = ['role', 'content']): void {
  for (const key of Object.keys(m)) {
    if (known.includes(key)) continue;
    const value = m[key];
    const nothing = value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0);
    if (MESSAGE_FIELDS_NOT_SERVED.includes(key)) {
      if (nothing) continue;
      throw new InvalidRequestError(`${param}.${key} is not supported by this server`, `${param}.${key}`, 'unsupported_parameter');
    }
    throw new InvalidRequestError(`${param} has an unrecognized field: ${boundText(key, 64)}`, `${param}.${boundText(key, 64)}`, 'unknown_parameter');
  }
}

function parseMessage(raw: unknown, param: string): ChatMessage {
  const m = asObject(raw, param);
  checkMessageFields(m, param);
  if (typeof m.role !== 'string') throw invalid(`${param}.role must be a string`, `${param}.role`);
  // own properties only: "__proto__" or "constructor" is not a role
  const role = Object.hasOwn(ROLES, m.role) ? ROLES[m.role] : undefined;
  if (!role) throw invalid(`${param}.role "${boundText(m.role, 32)}" is not supported; use system, developer, user or assistant`, `${param}.role`);
  return { role, content: parseContent(m.content, role, `${param}.content`) };
}

/** Text content: a string, or text parts (`text`, and the Responses API's `input_text` / `output_text`). */
export function parseContent(content: unknown, role: string, param: string): string {
  if (typeof content === 'string') return content;
  if ((content === null || content === undefined) && role === 'assistant') return '';
  if (!Array.isArray(content)) throw invalid(`${param} must be a string or an array of text parts`, param);
  return content
    .map((part, i) => {
      const p = asObject(part, `${param}[${i}]`);
      const isText = p.type === 'text' || p.type === 'input_text' || p.type === 'output_text';
      if (!isText || typeof p.text !== 'string') throw invalid(`${param}[${i}] must be a text part ({"type": "text", "text": "..."})`, `${param}[${i}]`);
      return p.text;
    })
    .join('');
}

export function parseRole(role: unknown, param: string): ChatMessage['role'] {
  const found = typeof role === 'string' && Object.hasOwn(ROLES, role) ? ROLES[role] : undefined;
  if (!found) throw invalid(`${param} "${boundText(String(role), 32)}" is not supported; use system, developer, user or assistant`, param);
  return found;
}

function parsePrompts(prompt: unknown): (string | number[])[] {
  if (typeof prompt === 'string') return [prompt];
  if (!Array.isArray(prompt) || prompt.length === 0) throw invalid('prompt must be a string, an array of strings, or token ids', 'prompt');
  if (prompt.length > MAX_PROMPTS && typeof prompt[0] !== 'number') throw invalid(`at most ${MAX_PROMPTS} prompts per request`, 'prompt');
  if (typeof prompt[0] === 'number') return [tokenIds(prompt, 'prompt')];
  return prompt.map((p, i) => {
    if (typeof p === 'string') return p;
    if (Array.isArray(p)) return tokenIds(p, `prompt[${i}]`);
    throw invalid('prompt must be a string, an array of strings, or token ids', `prompt[${i}]`);
  });
}

function tokenIds(v: unknown[], param: string): number[] {
  if (v.length === 0) throw invalid(`${param} must not be empty`, param);
  return v.map((id) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw invalid(`${param} must hold non-negative integer token ids`, param);
    return id;
  });
}

function parseTokenIds(v: unknown, param: string): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length > 256) throw invalid(`${param} must be an array of at most 256 token ids`, param);
  return v.length === 0 ? [] : tokenIds(v, param);
}

/** OpenAI's shape: {"token id": bias}; ids as strings, as JSON object keys are. */
function parseLogitBias(v: unknown): [number, number][] | undefined {
  if (v === undefined || v === null) return undefined;
  const entries = Object.entries(asObject(v, 'logit_bias'));
  return entries.map(([key, bias]) => {
    if (!/^\d{1,9}$/.test(key)) throw invalid(`logit_bias keys must be token ids, got "${boundText(key, 32)}"`, 'logit_bias');
    if (typeof bias !== 'number') throw invalid('logit_bias values must be numbers from -100 to 100', 'logit_bias');
    return [Number(key), bias];
  });
}

function parseStop(stop: unknown): string[] | undefined {
  if (stop === undefined || stop === null) return undefined;
  if (typeof stop === 'string') return stop === '' ? [] : [stop];
  if (Array.isArray(stop) && stop.every((s) => typeof s === 'string')) return (stop as string[]).filter((s) => s !== '');
  throw invalid('stop must be a string or an array of strings', 'stop');
}

export function asObject(v: unknown, param: string | null = null): Body {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(param ? `${param} must be an object` : 'the request body must be a JSON object', param);
  return v as Body;
}

/** A field that may be absent (undefined or null); when present it must keep `rule`. */
export function optional(v: unknown, param: string, rule: NumberRule): number | undefined {
  if (v === undefined || v === null) return undefined;
  checkParam(v, param, rule);
  return v as number;
}

export function optionalBoolean(v: unknown, param: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(`${param} must be a boolean`, param);
  return v;
}

export function invalid(message: string, param: string | null): InvalidRequestError {
  return new InvalidRequestError(message, param);
}

