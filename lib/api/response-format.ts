import type { FinishReason } from '../engine/sequence.js';

export interface Usage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

export interface ChoiceResult {
  readonly index: number;
  readonly text: string;
  readonly finishReason: FinishReason | null;
}

interface Envelope {
  readonly id: string;
  readonly created: number;
  readonly model: string;
}

/** How one endpoint shapes its responses and stream chunks, in the OpenAI wire format. */
export interface ResponseFormat {
  /** The whole response of a non-streaming request. */
  response(e: Envelope, choices: readonly ChoiceResult[], usage: Usage): object;
  /** Chunks for one event of choice `index`; `first` is true on the choice's first event. */
  chunks(e: Envelope, index: number, text: string, finishReason: FinishReason | null, first: boolean, includeUsage: boolean): object[];
  /** The trailing chunk with usage, when the client asked for it. */
  usageChunk(e: Envelope, usage: Usage): object;
}

export const chatFormat: ResponseFormat = {
  response: (e, choices, usage) => ({
    id: e.id,
    object: 'chat.completion',
    created: e.created,
    model: e.model,
    choices: choices.map((c) => ({ index: c.index, message: { role: 'assistant', content: c.text }, logprobs: null, finish_reason: c.finishReason })),
    usage,
  }),
  chunks(e, index, text, finishReason, first, includeUsage) {
    const chunk = (delta: object, finish: FinishReason | null) => ({
      id: e.id,
      object: 'chat.completion.chunk',
      created: e.created,
      model: e.model,
      choices: [{ index, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    });
    const out: object[] = [];
    if (first) out.push(chunk({ role: 'assistant', content: '' }, null));
    if (text) out.push(chunk({ content: text }, null));
    if (finishReason) out.push(chunk({}, finishReason));
    return out;
  },
  usageChunk: (e, usage) => ({ id: e.id, object: 'chat.completion.chunk', created: e.created, model: e.model, choices: [], usage }),
};

export const completionFormat: ResponseFormat = {
  response: (e, choices, usage) => ({
    id: e.id,
    object: 'text_completion',
    created: e.created,
    model: e.model,
    choices: choices.map((c) => ({ index: c.index, text: c.text, logprobs: null, finish_reason: c.finishReason })),
    usage,
  }),
  chunks(e, index, text, finishReason, _first, includeUsage) {
    if (!text && !finishReason) return [];
    return [
      {
        id: e.id,
        object: 'text_completion',
        created: e.created,
        model: e.model,
        choices: [{ index, text, logprobs: null, finish_reason: finishReason }],
        ...(includeUsage ? { usage: null } : {}),
      },
    ];
  },
  usageChunk: (e, usage) => ({ id: e.id, object: 'text_completion', created: e.created, model: e.model, choices: [], usage }),
};

export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}
