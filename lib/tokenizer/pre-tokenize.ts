/**
 * BPE pre-tokenizers: split text into the words BPE merges within, exactly as llama.cpp does
 * (src/unicode.cpp). The regexes of GPT-2, Llama 3 and Qwen 2 run through llama.cpp's
 * hand-written matchers, whose rules differ from a regex engine's in a few corners, so they are
 * ported here rule for rule; the "default" pre-tokenizer chains four regexes, each splitting the
 * pieces the one before it left.
 */
import { fromCodePoints } from './utf8.js';

/** Pre-tokenizers by the names tokenizer.ggml.pre uses for them. */
const FAMILIES: Readonly<Record<string, readonly string[]>> = {
  default: ['default'],
  gpt2: ['gpt-2', 'phi-2', 'jina-es', 'jina-de', 'gigachat', 'jina-v2-es', 'jina-v2-de', 'a.x-4.0', 'mellum', 'modern-bert'],
  llama3: ['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2', 'jina-v5-nano'],
  qwen2: ['qwen2', 'deepseek-r1-qwen', 'kormo', 'f2llmv2'],
};

export type PreTokenizerFamily = keyof typeof FAMILIES;

export function preTokenizerFamily(pre: string): PreTokenizerFamily | null {
  for (const [family, names] of Object.entries(FAMILIES)) if (names.includes(pre)) return family as PreTokenizerFamily;
  return null;
}

export function supportedPreTokenizers(): string[] {
  return Object.values(FAMILIES).flat();
}

const LETTER_RE = /\p{L}/u;
const NUMBER_RE = /\p{N}/u;
/** What llama.cpp's tables call whitespace (unicode-data.cpp, unicode_set_whitespace). */
const WHITESPACE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000]);

/*
 * Character classes of one code point as bits; OUTSIDE for a position outside the piece
 * (llama.cpp's empty flags). Looked up in a table filled on first sight of each code point, so
 * the Unicode property tests run once per distinct character, not once per character of text.
 */
const LETTER = 1;
const NUMBER = 2;
const WHITESPACE_BIT = 4;
const OUTSIDE = 8;
const KNOWN = 16;
const flagTable = new Uint8Array(0x110000);

function flagsOf(cp: number): number {
  const f = flagTable[cp];
  if (f !== 0) return f;
  const ch = String.fromCodePoint(cp);
  return (flagTable[cp] = KNOWN | (LETTER_RE.test(ch) ? LETTER : 0) | (NUMBER_RE.test(ch) ? NUMBER : 0) | (WHITESPACE.has(cp) ? WHITESPACE_BIT : 0));
}

const CR = 0x0d;
const LF = 0x0a;
const APOSTROPHE = 0x27;

/** Word lengths, in code points, of `cps` split by `family`. */
export function preTokenize(family: PreTokenizerFamily, cps: readonly number[]): number[] {
  const whole = [cps.length];
  switch (family) {
    case 'gpt2':
      return splitGpt2(cps, whole);
    case 'llama3':
      return splitLlama3Like(cps, whole, 3);
    case 'qwen2':
      return splitLlama3Like(cps, whole, 1);
    case 'default': {
      let offsets = splitRegex(cps, whole, /[\p{P}$+<=>^~|]+/gu);
      offsets = splitGpt2(cps, offsets);
      offsets = splitRegex(cps, offsets, /\p{N}+/gu);
      return splitRegex(cps, offsets, /[0-9][0-9][0-9]/gu);
    }
    default:
      throw new RangeError(`no pre-tokenizer ${String(family)}`);
  }
}

/** Runs `each` over every piece of `offsets`, collecting the lengths it produces. */
function perPiece(cps: readonly number[], offsets: readonly number[], each: (start: number, end: number, add: (end: number) => number) => void): number[] {
  const out: number[] = [];
  let start = 0;
  for (const length of offsets) {
    const end = start + length;
    let prevEnd = start;
    const add = (to: number) => {
      const n = to - prevEnd;
      if (n > 0) out.push(n);
      prevEnd = to;
      return n;
    };
    each(start, end, add);
    start = end;
  }
  return out;
}

/** 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
function splitGpt2(cps: readonly number[], offsets: readonly number[]): number[] {
  return perPiece(cps, offsets, (ini, end, add) => {
    const cpt = (p: number) => (p >= ini && p < end ? cps[p] : -1);
    const flags = (p: number) => (p >= ini && p < end ? flagsOf(cps[p]) : OUTSIDE);
    for (let pos = ini; pos < end; ) {
      const c = cpt(pos);
      if (c === APOSTROPHE && pos + 1 < end) {
        const next = cpt(pos + 1);
        if (next === 0x73 || next === 0x74 || next === 0x6d || next === 0x64) {
          pos += add(pos + 2);
          continue;
        }
        if (pos + 2 < end) {
          const next2 = cpt(pos + 2);
          if ((next === 0x72 && next2 === 0x65) || (next === 0x76 && next2 === 0x65) || (next === 0x6c && next2 === 0x6c)) {
            pos += add(pos + 3);
            continue;
          }
        }
      }
      let f2 = c === 0x20 ? flags(pos + 1) : flags(pos);
      if (f2 & LETTER) {
        pos += c === 0x20 ? 1 : 0;
        while (f2 & LETTER) f2 = flags(++pos);
        add(pos);
        continue;
      }
      if (f2 & NUMBER) {
        pos += c === 0x20 ? 1 : 0;
        while (f2 & NUMBER) f2 = flags(++pos);
        add(pos);
        continue;
      }
      if (!((f2 & WHITESPACE_BIT) || (f2 & LETTER) || (f2 & NUMBER)) && !(f2 & OUTSIDE)) {
        pos += c === 0x20 ? 1 : 0;
        while (!((f2 & WHITESPACE_BIT) || (f2 & LETTER) || (f2 & NUMBER)) && !(f2 & OUTSIDE)) f2 = flags(++pos);
        add(pos);
        continue;
      }
      let numWhitespace = 0;
      while (flags(pos + numWhitespace) & WHITESPACE_BIT) numWhitespace++;
      if (numWhitespace > 1 && cpt(pos + numWhitespace) !== -1) {
        pos += numWhitespace - 1;
        add(pos);
        continue;
      }
      if (numWhitespace > 0) {
        pos += numWhitespace;
        add(pos);
        continue;
      }
      add(++pos);
    }
  });
}

/**
 * Llama 3 (`maxDigits` 3) and Qwen 2 (1):
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 */
function splitLlama3Like(cps: readonly number[], offsets: readonly number[], maxDigits: number): number[] {
  return perPiece(cps, offsets, (ini, end, add) => {
    const cpt = (p: number) => (p >= ini && p < end ? cps[p] : -1);
    const flags = (p: number) => (p >= ini && p < end ? flagsOf(cps[p]) : OUTSIDE);
    const lower = (c: number) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
    for (let pos = ini; pos < end; ) {
      const c = cpt(pos);
      const f = flags(pos);
      if (c === APOSTROPHE && pos + 1 < end) {
        const next = lower(cpt(pos + 1));
        if (next === 0x73 || next === 0x74 || next === 0x6d || next === 0x64) {
          pos += add(pos + 2);
          continue;
        }
        if (pos + 2 < end) {
          const next2 = lower(cpt(pos + 2));
          if ((next === 0x72 && next2 === 0x65) || (next === 0x76 && next2 === 0x65) || (next === 0x6c && next2 === 0x6c)) {
            pos += add(pos + 3);
            continue;
          }
        }
      }
      if (!(c === CR || c === LF || (f & NUMBER))) {
        if ((f & LETTER) || (flags(pos + 1) & LETTER)) {
          pos++;
          while (flags(pos) & LETTER) pos++;
          add(pos);
          continue;
        }
      }
      if (f & NUMBER) {
        let first = pos;
        while (flags(pos) & NUMBER) {
          if (++pos - first >= maxDigits) {
            add(pos);
            first = pos;
          }
        }
        add(pos);
        continue;
      }
      let f2 = c === 0x20 ? flags(pos + 1) : f;
      if (!((f2 & WHITESPACE_BIT) || (f2 & LETTER) || (f2 & NUMBER)) && !(f & OUTSIDE)) {
        pos += c === 0x20 ? 1 : 0;
        while (!((f2 & WHITESPACE_BIT) || (f2 & LETTER) || (f2 & NUMBER)) && !(f2 & OUTSIDE)) f2 = flags(++pos);
        let c2 = cpt(pos);
        while (c2 === CR || c2 === LF) c2 = cpt(++pos);
        add(pos);
        continue;
      }
      let numWhitespace = 0;
      let lastEndOfLine = 0;
      while (flags(pos + numWhitespace) & WHITESPACE_BIT) {
        const c2 = cpt(pos + numWhitespace);
        if (c2 === CR || c2 === LF) lastEndOfLine = pos + numWhitespace + 1;
        numWhitespace++;
      }
      if (lastEndOfLine > 0) {
        pos = lastEndOfLine;
        add(pos);
        continue;
      }
      if (numWhitespace > 1 && cpt(pos + numWhitespace) !== -1) {
        pos += numWhitespace - 1;
        add(pos);
        continue;
      }
      if (numWhitespace > 0) {
        pos += numWhitespace;
        add(pos);
        continue;
      }
      add(++pos);
    }
  });
}

/** Splits each piece into its matches of `regex` (global) and the text between them. */
function splitRegex(cps: readonly number[], offsets: readonly number[], regex: RegExp): number[] {
  const out: number[] = [];
  let start = 0;
  for (const length of offsets) {
    const piece = fromCodePoints(cps, start, start + length);
    let at = 0; // in code points
    let atUnits = 0; // in UTF-16 units
    for (const match of piece.matchAll(regex)) {
      const index = countCodePoints(piece, atUnits, match.index) + at;
      if (index > at) out.push(index - at);
      const matchLength = countCodePoints(match[0], 0, match[0].length);
      out.push(matchLength);
      at = index + matchLength;
      atUnits = match.index + match[0].length;
    }
    if (at < length) out.push(length - at);
    start += length;
  }
  return out;
}

function countCodePoints(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++;
  }
  return n;
}
