import { checkParam, SAMPLING_RULES } from '../engine/sampling-params.js';
import { InvalidRequestError } from '../errors.js';
import { boundText } from '../util/bound-text.js';
import type { NumberRule } from '../util/number-rule.js';
import type { ChatMessage } from '../tokenizer/chat-template.js';

/** Sampling and output fields shared by /v1/chat/completions and /v1/completions. */
export interface GenerationFields {
  readonly model: string;
  /** null: as many as the context window leaves. */
  readonly maxTokens: number | null;
  readonly temperature: number | undefined;
  readonly topP: number | undefined;
  readonly topK: number | undefined;
  readonly seed: number | undefined;
  readonly n: number;
  readonly stop: readonly string[];
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly ignoreEos: boolean;
}

export interface ChatRequest extends GenerationFields {
  readonly messages: readonly ChatMessage[];
}

export interface CompletionRequest extends GenerationFields {
  /** Each prompt as text or as token ids. */
  readonly prompts: readonly (string | readonly number[])[];
  readonly echo: boolean;
}

export const MAX_N = 128;
const MAX_PROMPTS = 64;
const ROLES: Readonly<Record<string, ChatMessage['role']>> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant' };

type Body = Record<string, unknown>;

export function parseChatRequest(raw: unknown): ChatRequest {
  const body = asObject(raw);
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) throw invalid('messages must be a non-empty array', 'messages');
  return {
    ...generationFields(body, null, ['max_completion_tokens', 'max_tokens']),
    messages: messages.map((m, i) => parseMessage(m, `messages[${i}]`)),
  };
}

export function parseCompletionRequest(raw: unknown): CompletionRequest {
  const body = asObject(raw);
  if (body.suffix !== undefined && body.suffix !== null && body.suffix !== '') throw invalid('suffix is not supported', 'suffix');
  const fields = generationFields(body, 16, ['max_tokens']);
  if (body.best_of !== undefined && body.best_of !== null && body.best_of !== fields.n) throw invalid('best_of is not supported unless equal to n', 'best_of');
  const prompts = parsePrompts(body.prompt);
  if (prompts.length * fields.n > MAX_N) throw invalid(`at most ${MAX_N} completions per request (prompts × n)`, 'n');
  return { ...fields, prompts, echo: optionalBoolean(body.echo, 'echo') ?? false };
}

function generationFields(body: Body, defaultMaxTokens: number | null, maxTokenKeys: string[]): GenerationFields {
  if (typeof body.model !== 'string' || body.model === '') throw invalid('model must be a non-empty string', 'model');
  let maxTokens = defaultMaxTokens;
  for (const key of maxTokenKeys) {
    const value = optional(body[key], key, SAMPLING_RULES.maxTokens);
    if (value !== undefined) {
      maxTokens = value;
      break;
    }
  }
  rejectUnsupported(body);
  const stream = optionalBoolean(body.stream, 'stream') ?? false;
  let includeUsage = false;
  if (body.stream_options !== undefined && body.stream_options !== null) {
    if (!stream) throw invalid('stream_options is only allowed when stream is true', 'stream_options');
    includeUsage = optionalBoolean(asObject(body.stream_options, 'stream_options').include_usage, 'stream_options.include_usage') ?? false;
  }
  if (body.user !== undefined && body.user !== null && typeof body.user !== 'string') throw invalid('user must be a string', 'user');
  return {
    model: body.model,
    maxTokens,
    temperature: optional(body.temperature, 'temperature', SAMPLING_RULES.temperature),
    topP: optional(body.top_p, 'top_p', SAMPLING_RULES.topP),
    topK: optional(body.top_k, 'top_k', SAMPLING_RULES.topK),
    seed: optional(body.seed, 'seed', SAMPLING_RULES.seed),
    n: optional(body.n, 'n', { min: 1, max: MAX_N, integer: true }) ?? 1,
    stop: parseStop(body.stop),
    stream,
    includeUsage,
    ignoreEos: optionalBoolean(body.ignore_eos, 'ignore_eos') ?? false,
  };
}

/** Fields the server does not implement are refused rather than silently ignored. */
function rejectUnsupported(body: Body): void {
  for (const key of ['presence_penalty', 'frequency_penalty']) {
    const v = optional(body[key], key, { min: -2, max: 2 });
    if (v !== undefined && v !== 0) throw invalid(`${key} is not supported`, key);
  }
  if (body.logprobs !== undefined && body.logprobs !== null && body.logprobs !== false && body.logprobs !== 0) throw invalid('logprobs is not supported', 'logprobs');
  if (body.top_logprobs !== undefined && body.top_logprobs !== null && body.top_logprobs !== 0) throw invalid('top_logprobs is not supported', 'top_logprobs');
  if (isNonEmpty(body.logit_bias)) throw invalid('logit_bias is not supported', 'logit_bias');
  if (isNonEmpty(body.tools) || isNonEmpty(body.functions)) throw invalid('tools are not supported', 'tools');
  if (body.response_format !== undefined && body.response_format !== null) {
    if (asObject(body.response_format, 'response_format').type !== 'text') throw invalid('only response_format {"type": "text"} is supported', 'response_format');
  }
}

function parseMessage(raw: unknown, param: string): ChatMessage {
  const m = asObject(raw, param);
  if (typeof m.role !== 'string') throw invalid(`${param}.role must be a string`, `${param}.role`);
  // own properties only: "__proto__" or "constructor" is not a role
  const role = Object.hasOwn(ROLES, m.role) ? ROLES[m.role] : undefined;
  if (!role) throw invalid(`${param}.role "${boundText(m.role, 32)}" is not supported; use system, developer, user or assistant`, `${param}.role`);
  return { role, content: parseContent(m.content, role, `${param}.content`) };
}

function parseContent(content: unknown, role: string, param: string): string {
  if (typeof content === 'string') return content;
  if ((content === null || content === undefined) && role === 'assistant') return '';
  if (!Array.isArray(content)) throw invalid(`${param} must be a string or an array of text parts`, param);
  return content
    .map((part, i) => {
      const p = asObject(part, `${param}[${i}]`);
      if (p.type !== 'text' || typeof p.text !== 'string') throw invalid(`${param}[${i}] must be a text part ({"type": "text", "text": "..."})`, `${param}[${i}]`);
      return p.text;
    })
    .join('');
}

function parsePrompts(prompt: unknown): (string | number[])[] {
  const tokenIds = (v: unknown[], param: string) => {
    if (v.length === 0) throw invalid(`${param} must not be empty`, param);
    return v.map((id) => {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw invalid(`${param} must hold non-negative integer token ids`, param);
      return id;
    });
  };
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

function parseStop(stop: unknown): string[] {
  if (stop === undefined || stop === null) return [];
  if (typeof stop === 'string') return stop === '' ? [] : [stop];
  if (Array.isArray(stop) && stop.every((s) => typeof s === 'string')) return (stop as string[]).filter((s) => s !== '');
  throw invalid('stop must be a string or an array of strings', 'stop');
}

function asObject(v: unknown, param: string | null = null): Body {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(param ? `${param} must be an object` : 'the request body must be a JSON object', param);
  return v as Body;
}

/** A field that may be absent (undefined or null); when present it must keep `rule`. */
function optional(v: unknown, param: string, rule: NumberRule): number | undefined {
  if (v === undefined || v === null) return undefined;
  checkParam(v, param, rule);
  return v as number;
}

function optionalBoolean(v: unknown, param: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(`${param} must be a boolean`, param);
  return v;
}

function isNonEmpty(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (Array.isArray(v)) return v.length > 0;
  return typeof v !== 'object' || Object.keys(v).length > 0;
}

function invalid(message: string, param: string | null): InvalidRequestError {
  return new InvalidRequestError(message, param);
}
