import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { readGguf } from '../../lib/formats/gguf.js';
import { vocabFromGguf } from '../../lib/formats/gguf-vocab.js';
import { VocabTokenizer } from '../../lib/tokenizer/vocab-tokenizer.js';
import { IncrementalDetokenizer } from '../../lib/tokenizer/detokenizer.js';
import { CHECKPOINTS, checkpointFolder } from '../../tools/checkpoints.js';
import { readGolden, type ChatTemplateGolden, type TokenizerGolden } from '../helpers/goldens.js';

const folder = checkpointFolder();
after(() => folder.remove());
const tokenizers = new Map<string, VocabTokenizer>();
function tokenizerFor(vocab: string): VocabTokenizer {
  let t = tokenizers.get(vocab);
  if (!t) {
    const spec = CHECKPOINTS.find((c) => c.vocab === vocab) as (typeof CHECKPOINTS)[number];
    tokenizers.set(vocab, (t = new VocabTokenizer(vocabFromGguf(readGguf(folder.build(spec.name).path)))));
  }
  return t;
}

for (const vocab of ['llama2', 'llama3', 'qwen2.5', 'qwen3']) {
  describe(`${vocab} tokenizer against llama.cpp`, () => {
    const golden = readGolden<TokenizerGolden>(`tokenizer-${vocab}.json`);

    it('finds the same special tokens and end-of-generation set', () => {
      const t = tokenizerFor(vocab);
      assert.equal(t.bosTokenId, golden.bos);
      assert.equal(t.eosTokenId, golden.eos);
      assert.equal(t.addsBos, golden.addsBos);
      assert.deepEqual(t.endOfGenerationIds, golden.endOfGeneration);
    });

    it(`tokenizes all ${golden.corpus.length} corpus texts token for token, with and without special tokens parsed`, () => {
      const t = tokenizerFor(vocab);
      for (const { text, plain, special } of golden.corpus) {
        assert.deepEqual(t.encode(text, { addSpecial: false, parseSpecial: false }), plain, `plain: ${JSON.stringify(text)}`);
        assert.deepEqual(t.encode(text, { addSpecial: false, parseSpecial: true }), special, `special: ${JSON.stringify(text)}`);
      }
    });

    it('adds BOS as llama.cpp does when asked for special tokens', () => {
      const t = tokenizerFor(vocab);
      const { text, special } = golden.corpus[0];
      assert.deepEqual(t.encode(text), golden.addsBos ? [golden.bos, ...special] : special);
    });

    it('detokenizes as llama_detokenize, whole and streamed piece by piece', () => {
      const t = tokenizerFor(vocab);
      for (const { special, decoded } of golden.corpus) {
        assert.equal(t.decode(special), decoded, JSON.stringify(decoded));
        // a stream never shows half a character, and adds up to the pieces' text
        const stream = new IncrementalDetokenizer(t);
        let streamed = '';
        for (const id of special) {
          const delta = stream.push([id]);
          assert.ok(!/[\ud800-\udbff]$/.test(delta), 'no delta ends in half a surrogate pair');
          streamed += delta;
        }
        streamed += stream.finish();
        assert.equal(streamed, new TextDecoder().decode(concat(special.map((id) => t.pieceBytes(id)))));
      }
    });
  });
}

describe('chat templates against Python jinja2', () => {
  const golden = readGolden<ChatTemplateGolden>('chat-templates.json');
  for (const [i, g] of golden.templates.entries()) {
    it(`${g.vocab} conversation ${i % 5}: ${g.error ? 'refused as jinja2 refuses it' : 'renders and tokenizes as llama-server would'}`, () => {
      const t = tokenizerFor(g.vocab);
      if (g.error) {
        assert.throws(() => t.applyChatTemplate(g.messages, { addGenerationPrompt: g.addGenerationPrompt }), { name: 'InvalidRequestError', param: 'messages' });
        return;
      }
      assert.equal(t.chatTemplate.render(g.messages, { addGenerationPrompt: g.addGenerationPrompt }), g.text);
      assert.deepEqual(t.applyChatTemplate(g.messages, { addGenerationPrompt: g.addGenerationPrompt }), g.ids);
    });
  }
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
