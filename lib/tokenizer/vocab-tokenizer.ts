import { BpeIdMerges, bpeTokenizeWord, type BpeVocab } from './bpe.js';
import type { ChatMessage, ChatTemplateOptions } from './chat-message.js';
import { CHATML_TEMPLATE, JinjaChatTemplate } from './jinja-template.js';
import { byteLevelChar, byteLevelOfCodePoints, byteLevelToBytes } from './byte-level.js';
import { preTokenize, preTokenizerFamily, supportedPreTokenizers, type PreTokenizerFamily } from './pre-tokenize.js';
import { SpecialTokenSplitter } from './special-tokens.js';
import { mergesStayWithinWords, spmTokenize, spmWords, type SpmVocab } from './spm.js';
import { surelyMoreTokensThan, type EncodeOptions, type Tokenizer, type TokenizerRecipe } from './tokenizer.js';
import { codePoints, utf8Decode, utf8Encode } from './utf8.js';
import { WordCache } from './word-cache.js';
import { resolveVocab, TokenAttr, type ResolvedVocab, type VocabData } from './vocab.js';

const SPACE_MARK = '\u2581'; // "▁", SentencePiece's space

/**
 * The tokenizer a model file describes: SentencePiece (`llama`: scores, byte fallback, a space
 * prefix) or byte-level BPE (`gpt2`: merges, a pre-tokenizer named by tokenizer.ggml.pre), with
 * llama.cpp's special-token handling, so that the same text gives the same ids as llama.cpp.
 */
export class VocabTokenizer implements Tokenizer {
  private readonly vocab: ResolvedVocab;
  private readonly family: PreTokenizerFamily | null;
  private readonly mergeRanks: Map<string, number> | null;
  private readonly pieces: readonly Uint8Array[];
  private readonly bpeVocab: BpeVocab;
  readonly endOfGenerationIds: readonly number[];
  /** The model's chat template, or ChatML when its file has none (`usesFallbackTemplate`). */
  readonly chatTemplate: JinjaChatTemplate;
  readonly usesFallbackTemplate: boolean;
  /** BPE or SentencePiece merges, and a Jinja template a model file brings: worth threads of their own. */
  readonly cheap = false;
  readonly recipe: TokenizerRecipe;
  readonly longestTokenChars: number;
  private readonly splitter: SpecialTokenSplitter;
  private readonly words = new WordCache();
  /** SentencePiece: no token holds a space mark after another character, so words merge alone (see spmWords). */
  private readonly spmByWord: boolean;
  /** SentencePiece's byte fallback: the token of each byte (<0xNN>, or an ASCII character's own). */
  private readonly spmByteTokens = new Int32Array(256); // [256]
  /** Byte-level BPE on token ids, when the vocabulary's merges close over it (null: on strings). */
  private readonly idMerges: BpeIdMerges | null;
  /** UTF-8 bytes of the word being merged, grown as needed. */
  private wordBytes = new Uint8Array(256);

  constructor(readonly data: VocabData) {
    this.recipe = { kind: 'vocab', data };
    this.vocab = resolveVocab(data);
    this.usesFallbackTemplate = data.chatTemplate === null;
    const tokenText = (id: number | null) => (id === null ? '' : this.vocab.tokens[id]);
    this.chatTemplate = new JinjaChatTemplate(data.chatTemplate ?? CHATML_TEMPLATE, tokenText(this.vocab.bosTokenId), tokenText(this.vocab.eosTokenId));
    this.endOfGenerationIds = [...this.vocab.endOfGeneration].sort((a, b) => a - b);
    if (this.vocab.kind === 'bpe') {
      this.family = preTokenizerFamily(this.vocab.pre);
      if (!this.family) throw new RangeError(`tokenizer.ggml.pre "${this.vocab.pre}" is not supported; supported: ${supportedPreTokenizers().join(', ')}`);
      if (!data.merges) throw new RangeError('a gpt2 (BPE) tokenizer needs tokenizer.ggml.merges, and the file has none');
      this.mergeRanks = new Map();
      data.merges.forEach((merge, rank) => {
        const at = merge.indexOf(' ', 1);
        if (at > 0 && !this.mergeRanks?.has(merge)) this.mergeRanks?.set(merge, rank);
      });
    } else {
      this.family = null;
      this.mergeRanks = null;
    }
    this.bpeVocab = {
      tokenId: (text) => this.vocab.textToId.get(text),
      mergeRank: (left, right) => this.mergeRanks?.get(`${left} ${right}`),
      ignoreMerges: this.family === 'llama3', // llama.cpp sets ignore_merges for the Llama 3 pre-tokenizer
    };
    this.pieces = this.vocab.tokens.map((_, id) => this.computePiece(id));
    const v = this.vocab;
    // a piece's bytes bound the code units of text it came from; a special token stands for its own text
    let longest = 1;
    for (let id = 0; id < v.tokens.length; id++) {
      const special = (v.attrs[id] & (TokenAttr.Control | TokenAttr.UserDefined | TokenAttr.Unknown)) !== 0;
      longest = Math.max(longest, special ? v.tokens[id].length : this.pieces[id].length);
    }
    this.longestTokenChars = longest;
    this.splitter = new SpecialTokenSplitter(v.specialTokens, (id) => v.tokens[id], (id) => (v.attrs[id] & (TokenAttr.Control | TokenAttr.Unknown)) !== 0);
    this.spmByWord = v.kind === 'spm' && mergesStayWithinWords(v.tokens, SPACE_MARK);
    if (v.kind === 'spm') this.findByteTokens();
    this.idMerges = v.kind === 'bpe' && data.merges ? BpeIdMerges.of(data.merges, (t) => v.textToId.get(t), byteLevelChar) : null;
  }

  get vocabSize(): number {
    return this.vocab.tokens.length;
  }

  get bosTokenId(): number | null {
    return this.vocab.bosTokenId;
  }

  get eosTokenId(): number | null {
    return this.vocab.eosTokenId;
  }

  /** Whether encode() with addSpecial adds BOS. */
  get addsBos(): boolean {
    return this.vocab.addBos && this.vocab.bosTokenId !== null;
  }

  tokenText(id: number): string {
    return this.vocab.tokens[id] ?? '';
  }

  encode(text: string, { addSpecial = true, parseSpecial = true, limit = Infinity }: EncodeOptions = {}): number[] {
    const v = this.vocab;
    const output: number[] = [];
    if (surelyMoreTokensThan(this, text, limit)) {
      output.length = limit + 1; // never tokenized: only its count says anything
      return output.fill(0);
    }
    const fragments = this.splitter.split(text.toWellFormed(), parseSpecial);
    if (addSpecial && this.addsBos) output.push(v.bosTokenId as number);
    let previousWasSpecial = true; // SentencePiece: text after a special token (or at the start) gets a space prefix
    for (const fragment of fragments) {
      if (output.length > limit) return output;
      if ('token' in fragment) {
        output.push(fragment.token);
        previousWasSpecial = true;
        continue;
      }
      if (v.kind === 'spm') {
        const prefixed = v.addSpacePrefix && previousWasSpecial ? ` ${fragment.text}` : fragment.text;
        this.spmTokenize(prefixed.replaceAll(' ', SPACE_MARK), output, limit);
      } else {
        this.bpeTokenize(fragment.text, output, limit);
      }
      previousWasSpecial = false;
    }
    if (addSpecial && v.addEos && v.eosTokenId !== null) output.push(v.eosTokenId);
    return output;
  }

  /**
   * Renders the template, then tokenizes as llama-server does: special tokens in the rendered
   * text are parsed, BOS/EOS are added as the model asks, and a BOS or EOS the template already
   * wrote as text is dropped first so that it is not doubled.
   */
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): number[] {
    let text = this.chatTemplate.render(messages, options);
    const bos = this.vocab.bosTokenId === null ? '' : this.vocab.tokens[this.vocab.bosTokenId];
    const eos = this.vocab.eosTokenId === null ? '' : this.vocab.tokens[this.vocab.eosTokenId];
    if (this.addsBos && bos !== '' && text.startsWith(bos)) text = text.slice(bos.length);
    if (this.vocab.addEos && eos !== '' && text.endsWith(eos)) text = text.slice(0, -eos.length);
    return this.encode(text, { addSpecial: true, parseSpecial: true, ...(options?.limit !== undefined ? { limit: options.limit } : {}) });
  }

  pieceBytes(id: number): Uint8Array {
    const attr = this.vocab.attrs[id];
    if (attr === undefined || attr & (TokenAttr.Control | TokenAttr.Unknown)) return EMPTY;
    return this.pieces[id];
  }

  decode(ids: readonly number[]): string {
    const v = this.vocab;
    const chunks: Uint8Array[] = [];
    let removeSpace = v.addSpacePrefix;
    let total = 0;
    for (const id of ids) {
      let piece = this.pieceBytes(id);
      // SentencePiece's first piece loses the space the encoder prefixed
      if (removeSpace && piece.length > 0 && piece[0] === 0x20) piece = piece.subarray(1);
      removeSpace = false;
      chunks.push(piece);
      total += piece.length;
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    const text = utf8Decode(bytes);
    return this.cleansSpaces ? cleanUpSpaces(text) : text;
  }

  /** BPE vocabularies other than Qwen 2's tidy " ," and " 's" on decode (llama.cpp's clean_spaces). */
  private get cleansSpaces(): boolean {
    return this.vocab.kind === 'bpe' && this.family !== 'qwen2';
  }

  /** Byte-level BPE: the pre-tokenizer's words, each merged on its own (or found in the word cache). */
  private bpeTokenize(text: string, output: number[], limit: number): void {
    const cps = codePoints(text);
    let start = 0; // in code points
    let unit = 0; // the same place in UTF-16 units of `text`
    for (const length of preTokenize(this.family as PreTokenizerFamily, cps)) {
      if (output.length > limit) return;
      let units = 0;
      for (let i = start; i < start + length; i++) units += cps[i] > 0xffff ? 2 : 1;
      const word = text.slice(unit, unit + units);
      let ids = this.words.get(word);
      if (!ids) {
        const merged: number[] = [];
        this.mergeWord(cps, start, start + length, merged);
        this.words.set(word, (ids = merged));
      }
      for (const id of ids) output.push(id);
      start += length;
      unit += units;
    }
  }

  /**
   * SentencePiece falls back to byte tokens for what no piece covers (llama.cpp's byte_to_token:
   * <0xNN>, else the byte as a one-character token, which only ASCII can be). A vocabulary that
   * lacks some would fail on the first text that needs them: refused here, at load.
   */
  private findByteTokens(): void {
    const missing: string[] = [];
    for (let byte = 0; byte < 256; byte++) {
      const hex = `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
      const id = this.vocab.textToId.get(hex) ?? (byte < 0x80 ? this.vocab.textToId.get(String.fromCharCode(byte)) : undefined);
      if (id === undefined) missing.push(hex);
      else this.spmByteTokens[byte] = id;
    }
    if (missing.length > 0) throw new RangeError(`its SentencePiece vocabulary has no token for ${missing.length} of the 256 bytes (${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', …' : ''}), so some text could not be tokenized`);
  }

  /** One pre-tokenized word, code points cps[start, end), through byte-level BPE. */
  private mergeWord(cps: readonly number[], start: number, end: number, output: number[]): void {
    const ids = this.idMerges;
    if (!ids || this.bpeVocab.ignoreMerges) {
      // Llama 3 first looks the whole word up by its text
      const word = byteLevelOfCodePoints(cps, start, end);
      if (!ids) return bpeTokenizeWord(word, this.bpeVocab, output);
      const whole = this.vocab.textToId.get(word);
      if (whole !== undefined) return void output.push(whole);
    }
    let n = 0;
    if (this.wordBytes.length < 4 * (end - start)) this.wordBytes = new Uint8Array(8 * (end - start));
    const b = this.wordBytes;
    for (let i = start; i < end; i++) {
      const cp = cps[i];
      if (cp < 0x80) b[n++] = cp;
      else if (cp < 0x800) (b[n++] = 0xc0 | (cp >> 6)), (b[n++] = 0x80 | (cp & 0x3f));
      else if (cp < 0x10000) (b[n++] = 0xe0 | (cp >> 12)), (b[n++] = 0x80 | ((cp >> 6) & 0x3f)), (b[n++] = 0x80 | (cp & 0x3f));
      else (b[n++] = 0xf0 | (cp >> 18)), (b[n++] = 0x80 | ((cp >> 12) & 0x3f)), (b[n++] = 0x80 | ((cp >> 6) & 0x3f)), (b[n++] = 0x80 | (cp & 0x3f));
    }
    ids.tokenize(b, n, output);
  }

  /** SentencePiece over text with its spaces marked: word by word when the vocabulary allows it. */
  private spmTokenize(text: string, output: number[], limit: number): void {
    if (!this.spmByWord) return spmTokenize(text, this.spmVocab, output);
    for (const word of spmWords(text, SPACE_MARK)) {
      if (output.length > limit) return;
      let ids = this.words.get(word);
      if (!ids) {
        const merged: number[] = [];
        spmTokenize(word, this.spmVocab, merged);
        this.words.set(word, (ids = merged));
      }
      for (const id of ids) output.push(id);
    }
  }

  private readonly spmVocab: SpmVocab = {
    tokenId: (text) => this.vocab.textToId.get(text),
    score: (id) => this.vocab.scores[id],
    byteTokenId: (byte) => this.spmByteTokens[byte],
  };



  /** llama.cpp's token_to_piece with special tokens rendered (pieceBytes hides control ones). */
  private computePiece(id: number): Uint8Array {
    const v = this.vocab;
    const text = v.tokens[id];
    const attr = v.attrs[id];
    if (attr & (TokenAttr.Control | TokenAttr.Unknown | TokenAttr.UserDefined)) return utf8Encode(text);
    if (attr & TokenAttr.Normal) return v.kind === 'spm' ? utf8Encode(text.replaceAll(SPACE_MARK, ' ')) : byteLevelToBytes(text);
    if (attr & TokenAttr.Byte) return Uint8Array.of(v.kind === 'spm' ? parseInt(text.slice(3, 5), 16) : (byteLevelToBytes(text)[0] ?? 0));
    return EMPTY; // unused and undefined tokens
  }
}

const EMPTY = new Uint8Array(0);

/** llama.cpp's clean_spaces passes, in its order: " ?" " !" " ." " ," lose the space; " ' " becomes "'"; " 's" " 'm" " 're" " 've" lose the space. */
function cleanUpSpaces(text: string): string {
  let out = text.length > 0 ? text[0] : '';
  for (let i = 1; i < text.length; i++) {
    const x = text[i];
    if (text[i - 1] === ' ' && (x === '?' || x === '!' || x === '.' || x === ',')) out = out.slice(0, -1);
    out += x;
  }
  text = out;
  out = text.length > 0 ? text[0] : '';
  for (let i = 1; i < text.length; i++) {
    const x = text[i];
    if (x === "'" && i + 1 < text.length && text[i - 1] === ' ' && text[i + 1] === ' ') {
      out = out.slice(0, -1);
      i++;
    }
    out += x;
  }
  text = out;
  out = text.length > 0 ? text[0] : '';
  for (let i = 1; i < text.length; i++) {
    const x = text[i];
    if (text[i - 1] === ' ' && x === "'" && i + 1 < text.length) {
      const x1 = text[i + 1];
      const x2 = i + 2 < text.length ? text[i + 2] : '';
      if (x1 === 's' || x1 === 'm' || (x1 === 'r' && x2 === 'e') || (x1 === 'v' && x2 === 'e')) out = out.slice(0, -1);
    }
    out += x;
  }
  return out;
}
