/**
 * A model's vocabulary as its file describes it (GGUF's tokenizer.ggml.* keys), and what
 * llama.cpp derives from it at load: token attributes, the special token ids with their defaults,
 * and the set of tokens that end generation (src/llama-vocab.cpp, llama_vocab::impl::load).
 */
export interface VocabData {
  /** tokenizer.ggml.model: "llama" (SentencePiece) or "gpt2" (byte-level BPE). */
  readonly model: string;
  /** tokenizer.ggml.pre: the BPE pre-tokenizer; empty when the file names none. */
  readonly pre: string;
  readonly tokens: readonly string[];
  readonly scores: Float32Array | null; // [numTokens]
  /** GGUF token types (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte). */
  readonly tokenTypes: Int32Array | null; // [numTokens]
  /** "left right" pairs, highest priority first (BPE only). */
  readonly merges: readonly string[] | null;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly eotTokenId: number | null;
  readonly eomTokenId: number | null;
  readonly unknownTokenId: number | null;
  readonly paddingTokenId: number | null;
  readonly addBos: boolean | null;
  readonly addEos: boolean | null;
  readonly addSpacePrefix: boolean | null;
  readonly chatTemplate: string | null;
}

/** llama.cpp's llama_token_attr bits. */
export const TokenAttr = Object.freeze({
  Undefined: 0,
  Unknown: 1 << 0,
  Unused: 1 << 1,
  Normal: 1 << 2,
  Control: 1 << 3,
  UserDefined: 1 << 4,
  Byte: 1 << 5,
});

const TYPE_TO_ATTR: Readonly<Record<number, number>> = { 1: TokenAttr.Normal, 2: TokenAttr.Unknown, 3: TokenAttr.Control, 4: TokenAttr.UserDefined, 5: TokenAttr.Unused, 6: TokenAttr.Byte };

/** Token texts that end a turn or a generation, matched by text as llama.cpp does. */
const EOT_TEXTS = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>', '_<EOT>', '[EOT]', '<｜end▁of▁sentence｜>', '<end_of_utterance>'];
/** Fill-in-the-middle pad, repository and file-separator tokens: they end generation too. */
const FIM_END_TEXTS = [
  ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]'],
  ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'],
  ['<|file_sep|>'],
];
const EOG_TEXTS = [
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<|return|>',
  '<|call|>',
  '<|flush|>',
  '<|calls|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '</s>',
  '<|eom_id|>',
  '<EOT>',
  '_<EOT>',
  '[EOT]',
  '[EOS]',
  '<|end_of_text|>',
  '<end_of_utterance>',
  '<eos>',
  '<turn|>',
  '<|tool_response>',
  '<｜end▁of▁sentence｜>',
  '[e~[',
];

export type VocabKind = 'spm' | 'bpe';

/** Everything a tokenizer needs, resolved from the file with llama.cpp's defaults. */
export interface ResolvedVocab {
  readonly kind: VocabKind;
  readonly pre: string;
  readonly tokens: readonly string[];
  readonly scores: Float32Array; // [numTokens]
  readonly attrs: Uint16Array; // [numTokens] TokenAttr bits
  readonly textToId: ReadonlyMap<string, number>;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly eotTokenId: number | null;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly addSpacePrefix: boolean;
  /** Tokens that end generation (EOS, end of turn, end of message, …). */
  readonly endOfGeneration: ReadonlySet<number>;
  /** Control, user-defined and unknown tokens, longest text first: what is split out of text before tokenizing. */
  readonly specialTokens: readonly number[];
}

export function resolveVocab(data: VocabData): ResolvedVocab {
  const kind: VocabKind = data.model === 'llama' ? 'spm' : data.model === 'gpt2' ? 'bpe' : unsupported(data.model);
  const n = data.tokens.length;
  const attrs = new Uint16Array(n);
  const textToId = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    // an empty token would match everywhere; llama.cpp renames it the same way
    const text = data.tokens[i] === '' ? `[EMPTY_${i}]` : data.tokens[i];
    textToId.set(text, i);
    attrs[i] = data.tokenTypes ? (TYPE_TO_ATTR[data.tokenTypes[i]] ?? TokenAttr.Undefined) : TokenAttr.Normal;
  }
  const inRange = (id: number | null) => (id !== null && id >= 0 && id < n ? id : null);
  // llama.cpp's defaults when the file names none
  const bosTokenId = inRange(data.bosTokenId ?? (kind === 'spm' ? 1 : 11));
  const eosTokenId = inRange(data.eosTokenId ?? (kind === 'spm' ? 2 : 11));
  let eotTokenId = inRange(data.eotTokenId);
  let eomTokenId = inRange(data.eomTokenId);
  const markControl = (id: number) => (attrs[id] |= TokenAttr.Control);
  for (let i = 0; i < n; i++) {
    const text = data.tokens[i];
    if (eotTokenId === null && EOT_TEXTS.includes(text)) {
      eotTokenId = i;
      markControl(i);
    }
    if (eomTokenId === null && text === '<|eom_id|>') {
      eomTokenId = i;
      markControl(i);
    }
  }
  const endOfGeneration = new Set<number>();
  for (const texts of FIM_END_TEXTS) {
    const id = data.tokens.findIndex((t) => texts.includes(t));
    if (id >= 0) {
      endOfGeneration.add(id);
      markControl(id);
    }
  }
  for (let i = 0; i < n; i++) {
    if (!EOG_TEXTS.includes(data.tokens[i])) continue;
    endOfGeneration.add(i);
    markControl(i);
  }
  for (const id of [eosTokenId, eotTokenId, eomTokenId]) if (id !== null) endOfGeneration.add(id);

  const specialTokens: number[] = [];
  for (let i = 0; i < n; i++) if (attrs[i] & (TokenAttr.Control | TokenAttr.UserDefined | TokenAttr.Unknown)) specialTokens.push(i);
  specialTokens.sort((a, b) => utf8Length(data.tokens[b]) - utf8Length(data.tokens[a]) || a - b);

  const spm = kind === 'spm';
  const pre = spm ? 'default' : data.pre || 'default';
  return {
    kind,
    pre,
    tokens: data.tokens,
    scores: data.scores ?? new Float32Array(n),
    attrs,
    textToId,
    bosTokenId,
    eosTokenId,
    eotTokenId,
    // llama-bpe (Llama 3) adds BOS whatever the file says, unless the file says otherwise
    addBos: data.addBos ?? (spm || isLlama3Pre(pre)),
    addEos: data.addEos ?? false,
    addSpacePrefix: data.addSpacePrefix ?? spm,
    endOfGeneration,
    specialTokens,
  };
}

export function isLlama3Pre(pre: string): boolean {
  return ['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2', 'jina-v5-nano'].includes(pre);
}

function unsupported(model: string): never {
  throw new RangeError(`tokenizer.ggml.model "${model}" is not supported; supported: llama (SentencePiece), gpt2 (byte-level BPE)`);
}

const encoder = new TextEncoder();
function utf8Length(text: string): number {
  return encoder.encode(text).length;
}
