import { SAMPLING_RULES } from '../decode/rules.js';
import type { ChatMessage } from '../tokenizer/chat-message.js';
import type { ChatRequest } from './openai-request.js';
import { asObject, checkMessageFields, invalid, optional, optionalBoolean, parseContent, parseModel, parseRole } from './openai-request.js';
import { checkRequestFields } from './request-fields.js';
import type { ResponsesSettings } from './responses-format.js';

export interface ResponsesRequest extends ChatRequest {
  readonly settings: ResponsesSettings;
}

/**
 * POST /v1/responses, stateless: `input` as a string or a list of messages (or message items),
 * `instructions` as a system message before them, `max_output_tokens`, `temperature`, `top_p`,
 * `stream`. Asking the server to store a response or continue a stored one is a 400.
 */
export function parseResponsesRequest(raw: unknown): ResponsesRequest {
  const body = asObject(raw);
  checkRequestFields(body, 'responses');
  if (body.store === true) throw invalid('store: true is not supported: this server keeps no responses (send store: false, or leave it out)', 'store');
  if (body.text !== undefined && body.text !== null) {
    const format = asObject(body.text, 'text').format;
    if (format !== undefined && format !== null && asObject(format, 'text.format').type !== 'text') throw invalid('only text.format {"type": "text"} is supported', 'text.format');
  }
  const instructions = body.instructions;
  if (instructions !== undefined && instructions !== null && typeof instructions !== 'string') throw invalid('instructions must be a string', 'instructions');
  const messages: ChatMessage[] = typeof instructions === 'string' && instructions !== '' ? [{ role: 'system', content: instructions }] : [];
  messages.push(...parseInput(body.input));
  const maxTokens = optional(body.max_output_tokens, 'max_output_tokens', { ...SAMPLING_RULES.maxTokens, min: 1 }) ?? null;
  const temperature = optional(body.temperature, 'temperature', SAMPLING_RULES.temperature);
  const topP = optional(body.top_p, 'top_p', SAMPLING_RULES.topP);
  return {
    model: parseModel(body.model),
    maxTokens,
    sampling: { ...(temperature !== undefined ? { temperature } : {}), ...(topP !== undefined ? { topP } : {}) },
    n: 1,
    stream: optionalBoolean(body.stream, 'stream') ?? false,
    includeUsage: false,
    logprobs: null,
    messages,
    settings: { instructions: typeof instructions === 'string' ? instructions : null, maxOutputTokens: maxTokens, temperature: temperature ?? null, topP: topP ?? null },
  };
}

function parseInput(input: unknown): ChatMessage[] {
  if (typeof input === 'string') {
    if (input === '') throw invalid('input must not be empty', 'input');
    return [{ role: 'user', content: input }];
  }
  if (!Array.isArray(input) || input.length === 0) throw invalid('input must be a string or a non-empty array of messages', 'input');
  return input.map((item, i) => {
    const m = asObject(item, `input[${i}]`);
    if (m.type !== undefined && m.type !== 'message') throw invalid(`input[${i}].type "${String(m.type).slice(0, 32)}" is not supported; only messages are`, `input[${i}].type`);
    checkMessageFields(m, `input[${i}]`, ['type', 'role', 'content', 'id', 'status']);
    const role = parseRole(m.role, `input[${i}].role`);
    return { role, content: parseContent(m.content, role, `input[${i}].content`) };
  });
}
