/** A piece of text to tokenize, or a special token already found in it. */
export type Fragment = { readonly text: string } | { readonly token: number };

/** A trie over UTF-16 code units of the special tokens' texts. */
interface TrieNode {
  readonly next: Map<number, TrieNode>;
  /** Tokens whose text ends here. */
  readonly tokens: number[];
}

/**
 * Splits special tokens out of text before the tokenizer sees it, with the result of llama.cpp's
 * tokenizer_st_partition: each special token, in priority order (longest text first), claims its
 * occurrences left to right in the text no earlier token claimed, and each becomes a token of
 * its own. With `parseSpecial` off, control and unknown tokens stay plain text, while
 * user-defined tokens are still split out.
 *
 * llama.cpp searches the whole text once per special token; vocabularies carry hundreds of
 * them (Llama 3 has 256), so here one pass through a trie finds every occurrence of every one,
 * and the occurrences are then claimed in llama.cpp's order.
 */
export class SpecialTokenSplitter {
  private readonly root: TrieNode = { next: new Map(), tokens: [] };
  /** Code units some special token starts with: the only places a match can begin. */
  private readonly firstUnits = new Uint8Array(65536);
  /** A token's position in the priority order. */
  private readonly rank = new Map<number, number>();

  /** `specialTokens` in priority order; `tokenText(id)` their texts. */
  constructor(
    specialTokens: readonly number[],
    tokenText: (id: number) => string,
    private readonly isControlOrUnknown: (id: number) => boolean,
  ) {
    specialTokens.forEach((id, rank) => {
      const text = tokenText(id);
      if (text === '' || this.rank.has(id)) return;
      this.rank.set(id, rank);
      this.firstUnits[text.charCodeAt(0)] = 1;
      let node = this.root;
      for (let i = 0; i < text.length; i++) {
        const unit = text.charCodeAt(i);
        let child = node.next.get(unit);
        if (!child) node.next.set(unit, (child = { next: new Map(), tokens: [] }));
        node = child;
      }
      node.tokens.push(id);
    });
  }

  split(text: string, parseSpecial: boolean): Fragment[] {
    if (text === '') return [];
    const found = this.occurrences(text, parseSpecial);
    if (found.length === 0) return [{ text }];
    // claim in priority order, each token's occurrences left to right
    found.sort((a, b) => a.rank - b.rank || a.start - b.start);
    const claimed = new Uint8Array(text.length);
    const kept: { start: number; end: number; token: number }[] = [];
    for (const o of found) {
      let free = true;
      for (let i = o.start; i < o.end && free; i++) free = claimed[i] === 0;
      if (!free) continue;
      claimed.fill(1, o.start, o.end);
      kept.push(o);
    }
    kept.sort((a, b) => a.start - b.start);
    const out: Fragment[] = [];
    let at = 0;
    for (const o of kept) {
      if (o.start > at) out.push({ text: text.slice(at, o.start) });
      out.push({ token: o.token });
      at = o.end;
    }
    if (at < text.length) out.push({ text: text.slice(at) });
    return out;
  }

  /** Every place a special token's text occurs, overlapping ones included. */
  private occurrences(text: string, parseSpecial: boolean): { start: number; end: number; token: number; rank: number }[] {
    const out: { start: number; end: number; token: number; rank: number }[] = [];
    const first = this.root.next;
    const firstUnits = this.firstUnits;
    for (let start = 0; start < text.length; start++) {
      if (firstUnits[text.charCodeAt(start)] === 0) continue;
      let node = first.get(text.charCodeAt(start));
      for (let end = start + 1; node; end++) {
        for (const token of node.tokens) {
          if (!parseSpecial && this.isControlOrUnknown(token)) continue;
          out.push({ start, end, token, rank: this.rank.get(token) as number });
        }
        node = end < text.length ? node.next.get(text.charCodeAt(end)) : undefined;
      }
    }
    return out;
  }
}
