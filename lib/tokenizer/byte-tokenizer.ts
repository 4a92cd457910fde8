import { InvalidRequestError } from '../errors.js';
import type { ChatMessage, ChatTemplateOptions } from './chat-message.js';
import type { EncodeOptions, Tokenizer } from './tokenizer.js';

/**
 * A byte-level tokenizer, the built-in models' own: ids 0–255 are the UTF-8 bytes themselves,
 * and a handful of special tokens follow. Any text round-trips exactly, and any id sequence
 * decodes to valid text (see IncrementalDetokenizer). User text never turns into special
 * tokens: "<|user|>" typed in a prompt encodes as its bytes.
 */
export const SPECIAL_TOKENS = Object.freeze({
  bos: 256,
  eos: 257,
  system: 258,
  user: 259,
  assistant: 260,
  end: 261,
});

const SPECIAL_TEXT: Readonly<Record<number, string>> = {
  [SPECIAL_TOKENS.bos]: '<|bos|>',
  [SPECIAL_TOKENS.eos]: '<|eos|>',
  [SPECIAL_TOKENS.system]: '<|system|>',
  [SPECIAL_TOKENS.user]: '<|user|>',
  [SPECIAL_TOKENS.assistant]: '<|assistant|>',
  [SPECIAL_TOKENS.end]: '<|end|>',
};

const ROLE_TOKEN: Readonly<Record<ChatMessage['role'], number>> = {
  system: SPECIAL_TOKENS.system,
  user: SPECIAL_TOKENS.user,
  assistant: SPECIAL_TOKENS.assistant,
};

export const BYTE_VOCAB_SIZE = 262;
const EMPTY = new Uint8Array(0);

export class ByteTokenizer implements Tokenizer {
  readonly vocabSize = BYTE_VOCAB_SIZE;
  readonly bosTokenId = SPECIAL_TOKENS.bos;
  readonly eosTokenId = SPECIAL_TOKENS.eos;
  readonly endOfGenerationIds: readonly number[] = [SPECIAL_TOKENS.eos];
  /** A token is one byte, and a byte never stands for more than one code unit. */
  readonly longestTokenChars = 1;
  readonly recipe = { kind: 'byte' } as const;
  /** Bytes are their own tokens, and the template is this file's own framing. */
  readonly cheap = true;
  readonly usesFallbackTemplate = false;
  private readonly encoder = new TextEncoder();
  private readonly bytes: readonly Uint8Array[] = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));

  /** UTF-8 bytes of `text`, preceded by BOS when `addSpecial` (the default) is set. Never parses special tokens. */
  encode(text: string, { addSpecial = true, limit = Infinity }: EncodeOptions = {}): number[] {
    // a code unit is at most three bytes: the first limit + 1 units are enough to tell
    const bytes = this.encoder.encode(text.length > limit + 1 ? text.slice(0, limit + 1) : text);
    const ids = new Array<number>(bytes.length + (addSpecial ? 1 : 0));
    let j = 0;
    if (addSpecial) ids[j++] = this.bosTokenId;
    for (let i = 0; i < bytes.length; i++) ids[j++] = bytes[i];
    return ids;
  }

  pieceBytes(id: number): Uint8Array {
    return id >= 0 && id < 256 ? this.bytes[id] : EMPTY;
  }

  isSpecial(id: number): boolean {
    return id >= 256;
  }

  /** Printable name of a special token, e.g. "<|eos|>"; null for byte tokens. */
  specialText(id: number): string | null {
    return SPECIAL_TEXT[id] ?? null;
  }

  tokenText(id: number): string {
    return this.specialText(id) ?? String.fromCharCode(id);
  }

  /** Decodes a whole id sequence at once, skipping special tokens. */
  decode(ids: readonly number[]): string {
    const bytes = new Uint8Array(ids.length);
    let n = 0;
    for (const id of ids) if (id < 256) bytes[n++] = id;
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(0, n));
  }

  /**
   * The built-in chat template, written with the special tokens' names:
   *
   *   <|bos|> ( <|role|> content <|end|> )* <|assistant|>
   *
   * Each message is its role token, its UTF-8 content and <|end|>; the final <|assistant|> asks
   * the model for the next assistant turn. The model is expected to end its turn with <|eos|>.
   */
  applyChatTemplate(messages: readonly ChatMessage[], { addGenerationPrompt = true }: ChatTemplateOptions = {}): number[] {
    if (messages.length === 0) throw new InvalidRequestError('messages must not be empty', 'messages');
    const ids: number[] = [this.bosTokenId];
    for (const message of messages) {
      ids.push(ROLE_TOKEN[message.role]);
      for (const id of this.encode(message.content, { addSpecial: false })) ids.push(id);
      ids.push(SPECIAL_TOKENS.end);
    }
    if (addGenerationPrompt) ids.push(SPECIAL_TOKENS.assistant);
    return ids;
  }
}
