/**
 * Turns a stream of byte-token ids into text deltas. A UTF-8 character split across tokens is
 * held back until its last byte arrives, so no delta ever ends in half a character; bytes that
 * can never form a character become U+FFFD, exactly as a non-streaming decode of the same bytes
 * would give. Special tokens are skipped.
 */
export class IncrementalDetokenizer {
  // stream mode keeps an incomplete trailing sequence inside the decoder between calls
  private readonly decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  private readonly scratch = new Uint8Array(64);

  /** Text completed by these ids; may be empty while a character is incomplete. */
  push(ids: readonly number[]): string {
    const bytes = ids.length <= this.scratch.length ? this.scratch : new Uint8Array(ids.length);
    let n = 0;
    for (const id of ids) if (id >= 0 && id < 256) bytes[n++] = id;
    if (n === 0) return '';
    return this.decoder.decode(bytes.subarray(0, n), { stream: true });
  }

  /** Whatever is still held back, as replacement characters; call once at the end. */
  finish(): string {
    return this.decoder.decode();
  }
}
