import { MinHeap } from './min-heap.js';

interface Symbol {
  prev: number;
  next: number;
  /** [start, start + length) in code units of the word */
  start: number;
  length: number;
}

interface Bigram {
  readonly left: number;
  readonly right: number;
  readonly text: string;
  readonly rank: number;
}

export interface BpeVocab {
  tokenId(text: string): number | undefined;
  /** Rank of merging `left` and `right` (lower merges first); undefined when they never merge. */
  mergeRank(left: string, right: string): number | undefined;
  /** Llama 3: a word that is a token is emitted whole, without merging. */
  readonly ignoreMerges: boolean;
}

/**
 * Byte-level BPE of one pre-tokenized word (already in the byte-level alphabet), as llama.cpp's
 * llm_tokenizer_bpe_session does it: one symbol per character, repeatedly merge the adjacent
 * pair with the lowest merge rank (leftmost on ties), then emit each symbol's token, falling back
 * to one token per byte for a symbol that is not in the vocabulary.
 */
export function bpeTokenizeWord(word: string, vocab: BpeVocab, output: number[]): void {
  if (vocab.ignoreMerges) {
    const whole = vocab.tokenId(word);
    if (whole !== undefined) {
      output.push(whole);
      return;
    }
  }
  const symbols: Symbol[] = [];
  for (let i = 0; i < word.length; ) {
    const length = word.codePointAt(i)! > 0xffff ? 2 : 1;
    symbols.push({ prev: symbols.length - 1, next: i + length < word.length ? symbols.length + 1 : -1, start: i, length });
    i += length;
  }
  const text = (s: Symbol) => word.substr(s.start, s.length);
  const queue = new MinHeap<Bigram>((a, b) => a.rank < b.rank || (a.rank === b.rank && a.left < b.left));
  const addBigram = (left: number, right: number) => {
    if (left === -1 || right === -1) return;
    const l = text(symbols[left]);
    const r = text(symbols[right]);
    const rank = vocab.mergeRank(l, r);
    if (rank !== undefined) queue.push({ left, right, text: l + r, rank });
  };
  for (let i = 1; i < symbols.length; i++) addBigram(i - 1, i);

  for (let bigram = queue.pop(); bigram; bigram = queue.pop()) {
    const left = symbols[bigram.left];
    const right = symbols[bigram.right];
    if (left.length === 0 || right.length === 0) continue;
    if (text(left) + text(right) !== bigram.text) continue; // outdated
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    addBigram(left.prev, bigram.left);
    addBigram(bigram.left, left.next);
  }

  for (const symbol of symbols) {
    if (symbol.length === 0) continue;
    const piece = text(symbol);
    const id = vocab.tokenId(piece);
    if (id !== undefined) {
      output.push(id);
      continue;
    }
    // llama.cpp tries each UTF-8 byte of the piece as a token on its own, and drops those that are not
    for (const byte of new TextEncoder().encode(piece)) {
      const single = vocab.tokenId(String.fromCharCode(byte));
      if (single !== undefined && byte < 0x80) output.push(single);
    }
  }
}
