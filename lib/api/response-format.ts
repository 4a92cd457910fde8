import type { TokenLogprobs } from '../decode/logprobs.js';
import type { FinishReason } from '../engine/sequence.js';
import { chatLogprobs, completionLogprobs, type TokenText } from './logprobs-format.js';

export interface Usage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

/** A prompt's scored tokens: the first has no log probability (nothing predicts it). */
export type PromptEntry = TokenLogprobs | { readonly tokenId: number; readonly logprob: null };

/** What a choice put before its generated text: the echoed prompt, and its log probabilities when asked for. */
export interface ChoicePrefix {
  readonly text: string;
  readonly logprobs: readonly PromptEntry[] | null;
}

export interface ChoiceResult {
  readonly index: number;
  readonly text: string;
  readonly finishReason: FinishReason | null;
  /** Per generated token, when the request asked for log probabilities. */
  readonly logprobs: readonly TokenLogprobs[] | null;
  readonly prefix: ChoicePrefix | null;
}

/** One event of one choice, as a stream shows it. */
export interface ChoiceDelta {
  readonly index: number;
  readonly text: string;
  readonly finishReason: FinishReason | null;
  /** The choice's first event: it carries the prefix, if there is one. */
  readonly first: boolean;
  readonly logprobs: readonly TokenLogprobs[] | null;
  readonly prefix: ChoicePrefix | null;
}

export interface Envelope {
  readonly id: string;
  readonly created: number;
  readonly model: string;
}

/** One server-sent event: an optional event name and its data. */
export interface SseEvent {
  readonly event?: string;
  readonly data: object;
}

/** What every format needs to know of the request it answers. */
export interface FormatContext {
  readonly envelope: Envelope;
  readonly includeUsage: boolean;
  /** Whether the request asked for log probabilities of generated tokens. */
  readonly logprobs: boolean;
  readonly tokenText: (id: number) => TokenText;
}

/** The events of one streamed response, in order. */
export interface StreamShaper {
  start(): SseEvent[];
  delta(d: ChoiceDelta): SseEvent[];
  end(results: readonly ChoiceResult[], usage: Usage): SseEvent[];
  /** The stream failed after it began: its last events. */
  fail(error: { readonly error: object }): SseEvent[];
  /** Whether the stream ends with `data: [DONE]` (the chat and completions APIs) or not (the Responses API). */
  readonly endsWithDone: boolean;
}

/** How one endpoint shapes its responses, in the OpenAI wire format. */
export interface ResponseFormat {
  /** The whole response of a non-streaming request. */
  response(ctx: FormatContext, choices: readonly ChoiceResult[], usage: Usage): object;
  stream(ctx: FormatContext): StreamShaper;
}

export const chatFormat: ResponseFormat = {
  response: ({ envelope: e, tokenText }, choices, usage) => ({
    id: e.id,
    object: 'chat.completion',
    created: e.created,
    model: e.model,
    choices: choices.map((c) => ({
      index: c.index,
      message: { role: 'assistant', content: c.text },
      logprobs: c.logprobs ? chatLogprobs(c.logprobs, tokenText) : null,
      finish_reason: c.finishReason,
    })),
    usage,
  }),
  stream({ envelope: e, includeUsage, tokenText }) {
    const chunk = (index: number, delta: object, finish: FinishReason | null, logprobs: object | null) => ({
      data: {
        id: e.id,
        object: 'chat.completion.chunk',
        created: e.created,
        model: e.model,
        choices: [{ index, delta, logprobs, finish_reason: finish }],
        ...(includeUsage ? { usage: null } : {}),
      },
    });
    return {
      endsWithDone: true,
      start: () => [],
      delta(d) {
        const out: SseEvent[] = [];
        if (d.first) out.push(chunk(d.index, { role: 'assistant', content: '' }, null, null));
        // tokens whose text is still held back (a partial character, a possible stop string) keep their log probabilities
        if (d.text || (d.logprobs && d.logprobs.length > 0)) out.push(chunk(d.index, { content: d.text }, null, d.logprobs ? chatLogprobs(d.logprobs, tokenText) : null));
        if (d.finishReason) out.push(chunk(d.index, {}, d.finishReason, null));
        return out;
      },
      end: (_results, usage) => (includeUsage ? [{ data: { id: e.id, object: 'chat.completion.chunk', created: e.created, model: e.model, choices: [], usage } }] : []),
      fail: (error) => [{ data: error }],
    };
  },
};

export const completionFormat: ResponseFormat = {
  response: ({ envelope: e, tokenText, logprobs }, choices, usage) => ({
    id: e.id,
    object: 'text_completion',
    created: e.created,
    model: e.model,
    choices: choices.map((c) => ({
      index: c.index,
      text: (c.prefix?.text ?? '') + c.text,
      logprobs: logprobs || c.prefix?.logprobs ? completionLogprobs([...(c.prefix?.logprobs ?? []), ...(c.logprobs ?? [])], tokenText, 0).logprobs : null,
      finish_reason: c.finishReason,
    })),
    usage,
  }),
  stream({ envelope: e, includeUsage, tokenText, logprobs }) {
    const offsets = new Map<number, number>(); // choice → character offset of its next token
    return {
      endsWithDone: true,
      start: () => [],
      delta(d) {
        const entries = [...(d.first ? (d.prefix?.logprobs ?? []) : []), ...(d.logprobs ?? [])];
        const text = (d.first ? (d.prefix?.text ?? '') : '') + d.text;
        if (!text && !d.finishReason && entries.length === 0) return [];
        let shaped: object | null = null;
        if (logprobs || (d.first && d.prefix?.logprobs)) {
          const { logprobs: l, nextOffset } = completionLogprobs(entries, tokenText, offsets.get(d.index) ?? 0);
          offsets.set(d.index, nextOffset);
          shaped = l;
        }
        return [
          {
            data: {
              id: e.id,
              object: 'text_completion',
              created: e.created,
              model: e.model,
              choices: [{ index: d.index, text, logprobs: shaped, finish_reason: d.finishReason }],
              ...(includeUsage ? { usage: null } : {}),
            },
          },
        ];
      },
      end: (_results, usage) => (includeUsage ? [{ data: { id: e.id, object: 'text_completion', created: e.created, model: e.model, choices: [], usage } }] : []),
      fail: (error) => [{ data: error }],
    };
  },
};

export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}
