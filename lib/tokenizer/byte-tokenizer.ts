/**
 * A byte-level tokenizer: ids 0–255 are the UTF-8 bytes themselves, and a handful of special
 * tokens follow. Any text round-trips exactly, and any id sequence decodes to valid text (see
 * IncrementalDetokenizer). User text never turns into special tokens: "<|user|>" typed in a
 * prompt encodes as its bytes.
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

export const BYTE_VOCAB_SIZE = 262;

export class ByteTokenizer {
  readonly vocabSize = BYTE_VOCAB_SIZE;
  readonly bosTokenId = SPECIAL_TOKENS.bos;
  readonly eosTokenId = SPECIAL_TOKENS.eos;
  private readonly encoder = new TextEncoder();

  /** UTF-8 bytes of `text`, preceded by BOS when `addBos` is set. */
  encode(text: string, addBos = true): number[] {
    const bytes = this.encoder.encode(text);
    const ids = new Array<number>(bytes.length + (addBos ? 1 : 0));
    let j = 0;
    if (addBos) ids[j++] = this.bosTokenId;
    for (let i = 0; i < bytes.length; i++) ids[j++] = bytes[i];
    return ids;
  }

  isSpecial(id: number): boolean {
    return id >= 256;
  }

  /** Printable name of a special token, e.g. "<|eos|>"; null for byte tokens. */
  specialText(id: number): string | null {
    return SPECIAL_TEXT[id] ?? null;
  }

  /** Decodes a whole id sequence at once, skipping special tokens. */
  decode(ids: readonly number[]): string {
    const bytes = new Uint8Array(ids.length);
    let n = 0;
    for (const id of ids) if (id < 256) bytes[n++] = id;
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(0, n));
  }
}
