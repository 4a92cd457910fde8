import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteTokenizer, SPECIAL_TOKENS } from '../../lib/tokenizer/byte-tokenizer.js';
import { IncrementalDetokenizer } from '../../lib/tokenizer/detokenizer.js';
import { Rng } from '../../lib/util/rng.js';

const tokenizer = new ByteTokenizer();

describe('ByteTokenizer', () => {
  it('round-trips any text through its UTF-8 bytes', () => {
    for (const text of ['', 'hello', 'naïve café', '日本語', '🦙 emoji 👍🏽', '\u0000\n\t']) {
      const ids = tokenizer.encode(text);
      assert.equal(ids[0], SPECIAL_TOKENS.bos);
      assert.deepEqual(ids.slice(1), [...Buffer.from(text, 'utf8')]);
      assert.equal(tokenizer.decode(ids), text);
    }
  });

  it('never turns user text into special tokens', () => {
    const ids = tokenizer.encode('<|user|><|eos|>', { addSpecial: false });
    assert.ok(ids.every((id) => id < 256));
  });
});

describe('applyChatTemplate', () => {
  it('frames each message with its role token and <|end|>, and asks for the assistant', () => {
    const ids = tokenizer.applyChatTemplate([
      { role: 'system', content: 'S' },
      { role: 'user', content: 'hé' },
    ]);
    const { bos, system, user, end, assistant } = SPECIAL_TOKENS;
    assert.deepEqual(ids, [bos, system, 0x53, end, user, 0x68, 0xc3, 0xa9, end, assistant]);
  });

  it('rejects an empty conversation', () => {
    assert.throws(() => tokenizer.applyChatTemplate([]), { name: 'InvalidRequestError', param: 'messages' });
  });
});

describe('IncrementalDetokenizer', () => {
  it('holds back a character split across tokens until it is complete', () => {
    const d = new IncrementalDetokenizer(tokenizer);
    const bytes = [...Buffer.from('a🦙b', 'utf8')];
    const deltas = bytes.map((b) => d.push([b]));
    assert.deepEqual(deltas, ['a', '', '', '', '🦙', 'b']);
    assert.equal(d.finish(), '');
  });

  it('skips special tokens', () => {
    const d = new IncrementalDetokenizer(tokenizer);
    assert.equal(d.push([SPECIAL_TOKENS.bos, 0x68, SPECIAL_TOKENS.eos, 0x69]), 'hi');
  });

  it('gives, for any token sequence, deltas that concatenate to the whole decode and are each valid text', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 300; trial++) {
      const ids = Array.from({ length: 1 + (rng.nextUint32() % 40) }, () => {
        // mostly multi-byte lead and continuation bytes, where splitting goes wrong
        const r = rng.nextUint32() % 10;
        return r < 3 ? 0x80 + (rng.nextUint32() % 64) : r < 6 ? 0xc0 + (rng.nextUint32() % 64) : r < 9 ? rng.nextUint32() % 128 : 256 + (rng.nextUint32() % 6);
      });
      const d = new IncrementalDetokenizer(tokenizer);
      let streamed = '';
      for (let i = 0; i < ids.length; ) {
        const n = 1 + (rng.nextUint32() % 3);
        const delta = d.push(ids.slice(i, i + n));
        assert.equal(delta, Buffer.from(delta, 'utf8').toString('utf8'), 'a delta is well-formed text');
        assert.ok(!/[\uD800-\uDFFF]/.test(delta.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '')), 'no lone surrogates');
        streamed += delta;
        i += n;
      }
      streamed += d.finish();
      assert.equal(streamed, tokenizer.decode(ids));
    }
  });
});
