import type { VocabData } from '../tokenizer/vocab.js';
import { ModelLoadError } from './model-load-error.js';
import type { GgufFile, GgufValue } from './gguf.js';

/** The vocabulary a GGUF file describes (tokenizer.ggml.* and tokenizer.chat_template). */
export function vocabFromGguf(file: GgufFile): VocabData {
  const m = file.metadata;
  const fail = (problem: string) => new ModelLoadError(`${file.path}: ${problem}`);
  const model = m.get('tokenizer.ggml.model');
  if (typeof model !== 'string') throw fail('has no tokenizer (tokenizer.ggml.model is missing)');
  const tokens = m.get('tokenizer.ggml.tokens');
  if (!isStringArray(tokens) || tokens.length === 0) throw fail('has no token list (tokenizer.ggml.tokens)');
  const scores = m.get('tokenizer.ggml.scores');
  const types = m.get('tokenizer.ggml.token_type');
  const merges = m.get('tokenizer.ggml.merges');
  if (scores !== undefined && !(scores instanceof Float32Array && scores.length >= tokens.length)) throw fail('tokenizer.ggml.scores is not a float32 array as long as the token list');
  if (types !== undefined && !(types instanceof Int32Array && types.length >= tokens.length)) throw fail('tokenizer.ggml.token_type is not an int32 array as long as the token list');
  if (merges !== undefined && !isStringArray(merges)) throw fail('tokenizer.ggml.merges is not a string array');
  const id = (key: string) => {
    const v = m.get(`tokenizer.ggml.${key}`);
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < tokens.length ? v : null;
  };
  const flag = (key: string) => {
    const v = m.get(`tokenizer.ggml.${key}`);
    return typeof v === 'boolean' ? v : null;
  };
  const pre = m.get('tokenizer.ggml.pre');
  const template = m.get('tokenizer.chat_template');
  return {
    model,
    pre: typeof pre === 'string' ? pre : '',
    tokens,
    scores: scores ?? null,
    tokenTypes: types ?? null,
    merges: merges ?? null,
    bosTokenId: id('bos_token_id'),
    eosTokenId: id('eos_token_id'),
    eotTokenId: id('eot_token_id'),
    eomTokenId: id('eom_token_id'),
    unknownTokenId: id('unknown_token_id'),
    paddingTokenId: id('padding_token_id'),
    addBos: flag('add_bos_token'),
    addEos: flag('add_eos_token'),
    addSpacePrefix: flag('add_space_prefix'),
    chatTemplate: typeof template === 'string' ? template : null,
  };
}

function isStringArray(v: GgufValue | undefined): v is readonly string[] {
  return Array.isArray(v) && (v.length === 0 || typeof v[0] === 'string');
}
