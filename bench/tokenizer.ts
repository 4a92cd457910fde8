/**
 * The tokenizer beside llama.cpp's on the same texts and vocabularies, in one run: megabytes of
 * text tokenized per second by journey-llm's tokenizer (the file's vocabulary, as the server
 * loads it) and by llama.cpp's (node-llama-cpp's prebuilt build, `model.tokenize`, on the same
 * GGUF file), with the ratio. The texts are seeded: words drawn with Zipf's law from the
 * vocabulary's own word tokens, with punctuation, numbers, code and non-Latin script mixed in,
 * so that the word frequencies look like text's; and, as the worst case for journey-llm's word
 * cache, words of random letters that never repeat. The first round is reported apart (a cold
 * cache) from the best of the rest. Both tokenizers must give the same ids.
 *
 *   npm run bench:tokenizer -- [--mb 1] [--vocabs llama2,llama3,qwen2.5] [--rounds 3]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openModel, tokenizerOf } from '../lib/models/open-model.js';
import { Rng } from '../lib/util/rng.js';
import { nodeLlamaCpp, scratchDir } from '../scripts/llama-cpp-tool.js';
import { buildCheckpoint, CHECKPOINTS } from '../tools/checkpoints.js';
import type { VocabName } from '../tools/vocabularies.js';
import { machine, round } from './bench-util.js';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '1' },
    vocabs: { type: 'string', default: 'llama2,llama3,qwen2.5' },
    rounds: { type: 'string', default: '3' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write('Usage: npm run bench:tokenizer -- [--mb 1] [--vocabs llama2,llama3,qwen2.5] [--rounds 3]\n');
  process.exit(0);
}
const bytes = Math.round(Number(values.mb) * 1e6);
const rounds = Number(values.rounds);

/** Seeded text of `length` characters whose words follow Zipf's law over `words`. */
export function zipfText(words: readonly string[], length: number, seed: number): string {
  const rng = new Rng(seed);
  // P(rank r) ∝ 1/r: draw by inverting the harmonic CDF
  const cdf = new Float64Array(words.length);
  let sum = 0;
  for (let r = 0; r < words.length; r++) cdf[r] = sum += 1 / (r + 1);
  const word = () => {
    const u = rng.nextFloat() * sum;
    let lo = 0;
    let hi = words.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return words[lo];
  };
  const extras = ['. ', ', ', '\n', '\n\n', ' 2026', ' 3.14159', '(x) => x * 2;', '    return out;\n', ' naïve café', ' 東京都', ' Привет', ' 🙂', "'s", ' -- ', '\t'];
  const parts: string[] = [];
  let n = 0;
  while (n < length) {
    const piece = rng.nextFloat() < 0.12 ? extras[rng.nextUint32() % extras.length] : ` ${word()}`;
    parts.push(piece);
    n += piece.length;
  }
  return parts.join('').slice(0, length);
}

/** Seeded words of 2 to 12 random letters, none repeated in practice: what no word cache helps with. */
export function randomWords(length: number, seed: number): string {
  const rng = new Rng(seed);
  const parts: string[] = [];
  let n = 0;
  while (n < length) {
    const size = 2 + (rng.nextUint32() % 11);
    let word = ' ';
    for (let i = 0; i < size; i++) word += String.fromCharCode(97 + (rng.nextUint32() % 26));
    parts.push(word);
    n += word.length;
  }
  return parts.join('').slice(0, length);
}

/** The word tokens of a vocabulary, most frequent first as far as token ids tell (lower ids merged earlier). */
function wordsOf(tokens: readonly string[]): string[] {
  const words: string[] = [];
  for (const t of tokens) {
    const text = t.replace(/^(Ġ|▁)/, '');
    if (text.length >= 2 && /^[a-z]+$/i.test(text)) words.push(text);
  }
  return words.slice(0, 20000);
}

const { getLlama, LlamaLogLevel } = await nodeLlamaCpp();
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const dir = path.join(scratchDir(), 'checkpoints');

for (const vocab of values.vocabs.split(',') as VocabName[]) {
  const spec = CHECKPOINTS.find((c) => c.vocab === vocab && !c.vocabLimit);
  if (!spec) throw new RangeError(`no checkpoint with the ${vocab} vocabulary`);
  const file = buildCheckpoint(spec, dir).path;
  const source = openModel(file);
  if (source.kind !== 'gguf') throw new Error('a GGUF checkpoint was expected');
  const model = await llama.loadModel({ modelPath: file, vocabOnly: true });
  for (const [kind, text] of [['zipf words', zipfText(wordsOf(source.vocab.tokens), bytes, 7)], ['random words', randomWords(bytes, 8)]] as const) {
    const ours = tokenizerOf(source); // a fresh word cache for each text
    const mb = Buffer.byteLength(text) / 1e6;
    const time = (fn: () => unknown) => {
      const start = performance.now();
      fn();
      return (performance.now() - start) / 1000;
    };
    let oursIds: number[] = [];
    let theirIds: number[] = [];
    const oursS: number[] = [];
    const theirS: number[] = [];
    for (let r = 0; r < rounds; r++) {
      oursS.push(time(() => (oursIds = ours.encode(text, { addSpecial: false }))));
      theirS.push(time(() => (theirIds = Array.from(model.tokenize(text, true) as number[]))));
    }
    const same = oursIds.length === theirIds.length && oursIds.every((id, i) => id === theirIds[i]);
    const warm = Math.min(...oursS.slice(1));
    const theirs = Math.min(...theirS);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'tokenizer',
        vocab,
        text: kind,
        mb: round(mb, 3),
        tokens: oursIds.length,
        journeyColdMBps: round(mb / oursS[0], 2),
        ...(rounds > 1 ? { journeyWarmMBps: round(mb / warm, 2) } : {}),
        llamaCppMBps: round(mb / theirs, 2),
        ratioCold: round(theirs / oursS[0], 2),
        ...(rounds > 1 ? { ratioWarm: round(theirs / warm, 2) } : {}),
        sameIds: same,
        ...machine(),
      })}\n`,
    );
  }
  await model.dispose();
}
