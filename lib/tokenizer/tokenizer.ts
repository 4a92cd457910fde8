import type { ChatMessage, ChatTemplateOptions } from './chat-message.js';
import type { VocabData } from './vocab.js';

/** What another thread needs to build the same tokenizer: structured-cloneable. */
export type TokenizerRecipe = { readonly kind: 'byte' } | { readonly kind: 'vocab'; readonly data: VocabData };

/** How text becomes token ids and back, whichever vocabulary the model has. */
export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  /** Tokens that end a sequence unless the request ignores EOS (EOS, end of turn, end of message, …). */
  readonly endOfGenerationIds: readonly number[];
  /**
   * The most UTF-16 code units of input text one token can stand for: text longer than `limit` ×
   * this (plus a space prefix) makes more than `limit` tokens, which can be known untokenized.
   */
  readonly longestTokenChars: number;
  /** How another thread (a tokenizer thread, an engine worker) builds this same tokenizer. */
  readonly recipe: TokenizerRecipe;
  /**
   * True when encoding costs little and no model template runs (the byte tokenizer): such a
   * tokenizer runs in place, on the event loop, and needs no tokenizer threads.
   */
  readonly cheap: boolean;
  /** True when the model names no chat template of its own and a stock one stands in. */
  readonly usesFallbackTemplate: boolean;
  /**
   * `addSpecial` (default true) adds the BOS/EOS tokens the model asks for; `parseSpecial`
   * (default true) turns the text of control tokens (e.g. "<|im_end|>") into those tokens, as
   * llama-server and Hugging Face tokenizers do with prompts.
   */
  encode(text: string, options?: EncodeOptions): number[];
  /** The bytes token `id` adds to generated text (none for control tokens). */
  pieceBytes(id: number): Uint8Array;
  /** The whole text of `ids`, as llama.cpp's llama_detokenize gives it (control tokens left out). */
  decode(ids: readonly number[]): string;
  /** The token's own text in the vocabulary (e.g. "▁the", "Ġthe", "<|im_end|>"). */
  tokenText(id: number): string;
  /** A conversation as prompt token ids, through the model's chat template. Throws InvalidRequestError for a conversation the template refuses. */
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): number[];
}

export interface EncodeOptions {
  readonly addSpecial?: boolean;
  readonly parseSpecial?: boolean;
  /**
   * Stop once more than this many tokens are made: the result then holds more than `limit`
   * tokens, though not all of them, which is enough to refuse a prompt that cannot fit.
   */
  readonly limit?: number;
}

/** Whether `text` makes more than `limit` tokens whatever it holds, so that it need not be tokenized to be refused. */
export function surelyMoreTokensThan(tokenizer: Pick<Tokenizer, 'longestTokenChars'>, text: string, limit: number): boolean {
  return text.length > (limit + 1) * tokenizer.longestTokenChars + 1;
}
