import type { ChatMessage, ChatTemplateOptions } from './chat-template.js';

/** How text becomes token ids and back, whichever vocabulary the model has. */
export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  /** Tokens that end a sequence unless the request ignores EOS (EOS, end of turn, end of message, …). */
  readonly endOfGenerationIds: readonly number[];
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
}
