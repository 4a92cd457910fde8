import { MinHeap } from './min-heap.js';
import { utf8Encode } from './utf8.js';

interface Symbol {
  prev: number;
  next: number;
  /** [start, start + length) in code units of the text */
  start: number;
  length: number;
}

interface Bigram {
  readonly left: number;
  readonly right: number;
  readonly score: number;
  readonly length: number;
}

export interface SpmVocab {
  tokenId(text: string): number | undefined;
  score(id: number): number;
  byteTokenId(byte: number): number;
}

/**
 * SentencePiece-style BPE by score, as llama.cpp's llm_tokenizer_spm_session does it: start
 * from one symbol per character, repeatedly merge the adjacent pair that forms the vocabulary
 * piece with the highest score (leftmost first on ties), then emit each symbol's token, splitting
 * pieces that are not tokens back along their merges, and down to byte tokens at the bottom.
 */
export function spmTokenize(text: string, vocab: SpmVocab, output: number[]): void {
  const symbols: Symbol[] = [];
  for (let i = 0; i < text.length; ) {
    const length = text.codePointAt(i)! > 0xffff ? 2 : 1;
    symbols.push({ prev: symbols.length - 1, next: i + length < text.length ? symbols.length + 1 : -1, start: i, length });
    i += length;
  }
  const queue = new MinHeap<Bigram>((a, b) => a.score > b.score || (a.score === b.score && a.left < b.left));
  const revMerge = new Map<string, [number, number]>();
  const tryAddBigram = (left: number, right: number) => {
    if (left === -1 || right === -1) return;
    const piece = text.substr(symbols[left].start, symbols[left].length + symbols[right].length);
    const id = vocab.tokenId(piece);
    if (id === undefined) return;
    queue.push({ left, right, score: vocab.score(id), length: piece.length });
    revMerge.set(piece, [left, right]);
  };
  for (let i = 1; i < symbols.length; i++) tryAddBigram(i - 1, i);

  for (let bigram = queue.pop(); bigram; bigram = queue.pop()) {
    const left = symbols[bigram.left];
    const right = symbols[bigram.right];
    // one side already merged into something else
    if (left.length === 0 || right.length === 0 || left.length + right.length !== bigram.length) continue;
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    tryAddBigram(left.prev, bigram.left);
    tryAddBigram(bigram.left, left.next);
  }

  const resegment = (symbol: Symbol) => {
    const piece = text.substr(symbol.start, symbol.length);
    const id = vocab.tokenId(piece);
    if (id !== undefined) {
      output.push(id);
      return;
    }
    const merge = revMerge.get(piece);
    if (!merge) {
      for (const byte of utf8Encode(piece)) output.push(vocab.byteTokenId(byte));
      return;
    }
    resegment(symbols[merge[0]]);
    resegment(symbols[merge[1]]);
  };
  for (let i = 0; i !== -1 && symbols.length > 0; i = symbols[i].next) resegment(symbols[i]);
}

/**
 * Whether no token of the vocabulary holds `mark` (the space mark) after another character: then
 * no merge can join a symbol to a following word that starts with the mark, so each word merges
 * on its own, with the result merging the whole text would give (merges in different words never
 * meet, and each word's merges keep their order). SentencePiece's training, which splits on
 * whitespace, makes vocabularies like that.
 */
export function mergesStayWithinWords(tokens: readonly string[], mark: string): boolean {
  for (const t of tokens) {
    for (let at = t.indexOf(mark, 1); at > 0; at = t.indexOf(mark, at + 1)) if (t[at - 1] !== mark) return false;
  }
  return true;
}

/** `text` cut before every space mark that follows another character: "a▁▁b▁c" gives "a", "▁▁b", "▁c". */
export function* spmWords(text: string, mark: string): Generator<string> {
  let start = 0;
  for (let at = text.indexOf(mark, 1); at > 0; at = text.indexOf(mark, at + 1)) {
    if (text[at - 1] === mark) continue;
    yield text.slice(start, at);
    start = at;
  }
  if (start < text.length) yield text.slice(start);
}
