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

/**
 * The same merges on token ids, for vocabularies where they close: every byte is a token, and
 * every merge joins two tokens into a token (Hugging Face's BPE files are made so). A pair of
 * ids then names its merge's rank and result in one probe of a hash table, with no string
 * built per pair, and the result is bit for bit bpeTokenizeWord's: symbols hold the token of
 * their text, so comparing ids is comparing texts.
 */
export class BpeIdMerges {
  private readonly pairs: PairTable;
  private readonly heap = new PairHeap();
  // per-word scratch, grown as needed: each symbol's token (-1 once merged into its left
  // neighbour), and its neighbours (-1 at the ends)
  private ids = new Int32Array(64);
  private next = new Int32Array(64);
  private prev = new Int32Array(64);

  private constructor(
    readonly byteTokens: Int32Array, // [256] the token of each byte's byte-level character
    numMerges: number,
  ) {
    this.pairs = new PairTable(numMerges);
  }

  /**
   * The merges as ids, or null when they do not close (a byte or a merge's part or result is not
   * a token): such a vocabulary takes bpeTokenizeWord's strings.
   */
  static of(merges: readonly string[], tokenId: (text: string) => number | undefined, byteChar: (byte: number) => string): BpeIdMerges | null {
    const byteTokens = new Int32Array(256);
    for (let b = 0; b < 256; b++) {
      const id = tokenId(byteChar(b));
      if (id === undefined) return null;
      byteTokens[b] = id;
    }
    const out = new BpeIdMerges(byteTokens, merges.length);
    for (let rank = 0; rank < merges.length; rank++) {
      const merge = merges[rank];
      const at = merge.indexOf(' ', 1);
      if (at <= 0) continue; // not a pair: never matches, as in the string map
      const left = tokenId(merge.slice(0, at));
      const right = tokenId(merge.slice(at + 1));
      const merged = tokenId(merge.slice(0, at) + merge.slice(at + 1));
      if (left === undefined || right === undefined || merged === undefined) return null;
      out.pairs.add(left, right, rank, merged); // the first rank of a repeated pair stays
    }
    return out;
  }

  /** BPE of one word given as UTF-8 bytes[0, n); appends its token ids to `output`. */
  tokenize(bytes: Uint8Array, n: number, output: number[]): void {
    if (n === 1) {
      output.push(this.byteTokens[bytes[0]]);
      return;
    }
    if (this.ids.length < n) {
      this.ids = new Int32Array(2 * n);
      this.next = new Int32Array(2 * n);
      this.prev = new Int32Array(2 * n);
    }
    const { ids, next, prev, heap, pairs } = this;
    for (let i = 0; i < n; i++) {
      ids[i] = this.byteTokens[bytes[i]];
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    heap.reset(3 * n);
    const add = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const at = pairs.find(ids[left], ids[right]);
      if (at >= 0) heap.push(pairs.rankAt(at), left, right, ids[left], ids[right], pairs.mergedAt(at));
    };
    for (let i = 1; i < n; i++) add(i - 1, i);
    while (heap.size > 0) {
      heap.pop();
      const { left, right } = heap.top;
      // outdated: a side has merged with something else since
      if (ids[left] !== heap.top.leftId || ids[right] !== heap.top.rightId || next[left] !== right) continue;
      ids[left] = heap.top.merged;
      ids[right] = -1;
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      add(prev[left], left);
      add(left, next[left]);
    }
    for (let i = 0; i >= 0; i = next[i]) output.push(ids[i]);
  }
}

/** Open addressing over (left, right) token pairs: their merge's rank and merged token. */
class PairTable {
  private readonly mask: number;
  private readonly lefts: Int32Array; // [capacity] -1 where empty
  private readonly rights: Int32Array; // [capacity]
  private readonly ranks: Int32Array; // [capacity]
  private readonly merged: Int32Array; // [capacity]

  constructor(numPairs: number) {
    let capacity = 16;
    while (capacity < 2 * numPairs) capacity *= 2;
    this.mask = capacity - 1;
    this.lefts = new Int32Array(capacity).fill(-1);
    this.rights = new Int32Array(capacity);
    this.ranks = new Int32Array(capacity);
    this.merged = new Int32Array(capacity);
  }

  private slot(left: number, right: number): number {
    return (Math.imul(left, 0x9e3779b1) ^ Math.imul(right + 0x7f4a7c15, 0x85ebca77)) & this.mask;
  }

  /** Adds a pair unless it is there already. */
  add(left: number, right: number, rank: number, merged: number): void {
    for (let at = this.slot(left, right); ; at = (at + 1) & this.mask) {
      if (this.lefts[at] === -1) {
        this.lefts[at] = left;
        this.rights[at] = right;
        this.ranks[at] = rank;
        this.merged[at] = merged;
        return;
      }
      if (this.lefts[at] === left && this.rights[at] === right) return;
    }
  }

  /** Where the pair is, or -1. */
  find(left: number, right: number): number {
    for (let at = this.slot(left, right); ; at = (at + 1) & this.mask) {
      const l = this.lefts[at];
      if (l === -1) return -1;
      if (l === left && this.rights[at] === right) return at;
    }
  }

  rankAt(at: number): number {
    return this.ranks[at];
  }

  mergedAt(at: number): number {
    return this.merged[at];
  }
}

/** A binary min-heap of merge candidates by (rank, left position), in typed arrays reused from word to word. */
class PairHeap {
  size = 0;
  /** The entry pop() took out. */
  readonly top = { left: 0, right: 0, leftId: 0, rightId: 0, merged: 0 };
  private rank = new Int32Array(0);
  private left = new Int32Array(0);
  private right = new Int32Array(0);
  private leftId = new Int32Array(0);
  private rightId = new Int32Array(0);
  private merged = new Int32Array(0);

  /** Empties the heap, with room for `capacity` entries. */
  reset(capacity: number): void {
    this.size = 0;
    if (this.rank.length >= capacity) return;
    const c = Math.max(capacity, 2 * this.rank.length, 256);
    this.rank = new Int32Array(c);
    this.left = new Int32Array(c);
    this.right = new Int32Array(c);
    this.leftId = new Int32Array(c);
    this.rightId = new Int32Array(c);
    this.merged = new Int32Array(c);
  }

  push(rank: number, left: number, right: number, leftId: number, rightId: number, merged: number): void {
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!(rank < this.rank[parent] || (rank === this.rank[parent] && left < this.left[parent]))) break;
      this.move(parent, i);
      i = parent;
    }
    this.set(i, rank, left, right, leftId, rightId, merged);
  }

  /** Takes the first entry out, into `top`. */
  pop(): void {
    const t = this.top;
    t.left = this.left[0];
    t.right = this.right[0];
    t.leftId = this.leftId[0];
    t.rightId = this.rightId[0];
    t.merged = this.merged[0];
    const last = --this.size;
    if (last === 0) return;
    const rank = this.rank[last];
    const left = this.left[last];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const child = r < last && (this.rank[r] < this.rank[l] || (this.rank[r] === this.rank[l] && this.left[r] < this.left[l])) ? r : l;
      if (!(this.rank[child] < rank || (this.rank[child] === rank && this.left[child] < left))) break;
      this.move(child, i);
      i = child;
    }
    this.move(last, i);
  }

  private move(from: number, to: number): void {
    this.set(to, this.rank[from], this.left[from], this.right[from], this.leftId[from], this.rightId[from], this.merged[from]);
  }

  private set(i: number, rank: number, left: number, right: number, leftId: number, rightId: number, merged: number): void {
    this.rank[i] = rank;
    this.left[i] = left;
    this.right[i] = right;
    this.leftId[i] = leftId;
    this.rightId[i] = rightId;
    this.merged[i] = merged;
  }
}
