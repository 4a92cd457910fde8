import type { Tokenizer } from './tokenizer.js';

/**
 * Turns a stream of token ids into text deltas. A UTF-8 character split across tokens is held
 * back until its last byte arrives, so no delta ever ends in half a character; bytes that can
 * never form a character become U+FFFD, exactly as a non-streaming decode of the same bytes
 * would give. Control tokens add nothing.
 */
export class IncrementalDetokenizer {
  // stream mode keeps an incomplete trailing sequence inside the decoder between calls
  private readonly decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

  constructor(private readonly tokenizer: Pick<Tokenizer, 'pieceBytes'>) {}

  /** Text completed by these ids; may be empty while a character is incomplete. */
  push(ids: readonly number[]): string {
    if (ids.length === 1) return this.decoder.decode(this.tokenizer.pieceBytes(ids[0]), { stream: true });
    let text = '';
    for (const id of ids) text += this.decoder.decode(this.tokenizer.pieceBytes(id), { stream: true });
    return text;
  }

  /** Whatever is still held back, as replacement characters; call once at the end. */
  finish(): string {
    return this.decoder.decode();
  }
}
