import type { FinishReason } from '../engine/sequence.js';
import type { ChoiceResult, Envelope, ResponseFormat, SseEvent, Usage } from './response-format.js';

/** The request settings a Responses API response repeats back. */
export interface ResponsesSettings {
  readonly instructions: string | null;
  readonly maxOutputTokens: number | null;
  readonly temperature: number | null;
  readonly topP: number | null;
}

/**
 * The OpenAI Responses API's shapes: one `response` object with one assistant message item, and
 * for streams the event sequence response.created → response.in_progress →
 * response.output_item.added → response.content_part.added → response.output_text.delta … →
 * response.output_text.done → response.content_part.done → response.output_item.done →
 * response.completed, each event named and numbered. The API is stateless here: nothing is stored.
 */
export function responsesFormat(settings: ResponsesSettings): ResponseFormat {
  const messageId = (e: Envelope) => `msg_${e.id.replace(/^resp_/, '')}`;
  const message = (e: Envelope, text: string, status: 'in_progress' | 'completed' | 'incomplete') => ({
    type: 'message',
    id: messageId(e),
    status,
    role: 'assistant',
    content: status === 'in_progress' && text === '' ? [] : [{ type: 'output_text', text, annotations: [] }],
  });
  const response = (e: Envelope, status: 'in_progress' | 'completed' | 'incomplete' | 'failed', output: object[], usage: Usage | null, extra: object = {}) => ({
    id: e.id,
    object: 'response',
    created_at: e.created,
    status,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: settings.instructions,
    max_output_tokens: settings.maxOutputTokens,
    model: e.model,
    output,
    parallel_tool_calls: false,
    previous_response_id: null,
    reasoning: null,
    store: false,
    temperature: settings.temperature,
    text: { format: { type: 'text' } },
    tool_choice: 'none',
    tools: [],
    top_p: settings.topP,
    truncation: 'disabled',
    usage: usage
      ? {
          input_tokens: usage.prompt_tokens,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: usage.completion_tokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: usage.total_tokens,
        }
      : null,
    user: null,
    metadata: {},
    ...extra,
  });
  const statusOf = (reason: FinishReason | null) => (reason === 'length' ? 'incomplete' : 'completed');

  return {
    response: ({ envelope: e }, [choice], usage) => {
      const status = statusOf(choice?.finishReason ?? null);
      return response(e, status, [message(e, choice?.text ?? '', status)], usage);
    },
    stream({ envelope: e }) {
      let sequence = 0;
      let text = '';
      const event = (type: string, fields: object): SseEvent => ({ event: type, data: { type, sequence_number: sequence++, ...fields } });
      const at = { item_id: messageId(e), output_index: 0, content_index: 0 };
      return {
        endsWithDone: false,
        start: () => [
          event('response.created', { response: response(e, 'in_progress', [], null) }),
          event('response.in_progress', { response: response(e, 'in_progress', [], null) }),
          event('response.output_item.added', { output_index: 0, item: message(e, '', 'in_progress') }),
          event('response.content_part.added', { ...at, part: { type: 'output_text', text: '', annotations: [] } }),
        ],
        delta(d) {
          if (!d.text) return [];
          text += d.text;
          return [event('response.output_text.delta', { ...at, delta: d.text, logprobs: [] })];
        },
        end(results: readonly ChoiceResult[], usage) {
          const status = statusOf(results[0]?.finishReason ?? null);
          const part = { type: 'output_text', text, annotations: [] };
          return [
            event('response.output_text.done', { ...at, text, logprobs: [] }),
            event('response.content_part.done', { ...at, part }),
            event('response.output_item.done', { output_index: 0, item: message(e, text, status) }),
            event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response: response(e, status, [message(e, text, status)], usage) }),
          ];
        },
        fail: ({ error }) => [event('response.failed', { response: response(e, 'failed', [message(e, text, 'incomplete')], null, { error }) })],
      };
    },
  };
}
