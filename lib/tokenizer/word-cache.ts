/**
 * The token ids of recently seen words, so that a word met again is not merged again (Hugging
 * Face's tokenizers keep the same kind of cache). Text repeats its words, by Zipf's law, so a
 * few thousand entries serve most of any text. Bounded as two generations: new words go into
 * the current one; when it is full it becomes the previous one and the old previous one is
 * dropped, and a word found in the previous generation moves to the current one. That keeps
 * the words in use at O(1) a lookup (a Map evicting its oldest key one by one walks over every
 * key deleted before it). Only short words are kept: a long one is rare, and would make the
 * cache large.
 */
export class WordCache {
  private current = new Map<string, readonly number[]>();
  private previous = new Map<string, readonly number[]>();

  constructor(
    private readonly capacity = 8192,
    private readonly maxWordLength = 48,
  ) {}

  get(word: string): readonly number[] | undefined {
    const ids = this.current.get(word);
    if (ids !== undefined) return ids;
    const old = this.previous.get(word);
    if (old !== undefined) this.set(word, old);
    return old;
  }

  set(word: string, ids: readonly number[]): void {
    if (word.length > this.maxWordLength) return;
    if (this.current.size >= this.capacity) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(word, ids);
  }
}
