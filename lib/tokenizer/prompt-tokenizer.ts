import type { ChatMessage, ChatTemplateOptions } from './chat-message.js';
import type { EncodeOptions, Tokenizer } from './tokenizer.js';

/**
 * Prompts as token ids, for a server: asynchronous, so that long text and chat templates (code
 * a model file brings, which may be slow or hostile) can run off the thread that answers
 * requests. Refusals are InvalidRequestErrors, as the synchronous Tokenizer's.
 */
export interface PromptTokenizer {
  encode(text: string, options?: EncodeOptions): Promise<number[]>;
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): Promise<number[]>;
  close(): Promise<void>;
}

/** A tokenizer on this thread, for one whose work is bounded and cheap (the built-in byte tokenizer). */
export function inlinePromptTokenizer(tokenizer: Tokenizer): PromptTokenizer {
  return {
    encode: async (text, options) => tokenizer.encode(text, options),
    applyChatTemplate: async (messages, options) => tokenizer.applyChatTemplate(messages, options),
    close: async () => {},
  };
}
