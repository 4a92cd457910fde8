import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Rng } from '../../lib/util/rng.js';
import { checkpointFolder } from '../../tools/checkpoints.js';
import { post, startServer, type TestServer } from '../helpers/server.js';

const folder = checkpointFolder();
let t: TestServer;
let model: string;
before(async () => {
  const file = folder.build('qwen2-f32').path;
  model = 'qwen2-f32.gguf';
  t = await startServer({ model: file, maxRequestBodyBytes: 2 << 20 });
});
after(async () => {
  await t.close();
  folder.remove();
});

/** Words that make a megabyte of ordinary text. */
function megabyte(seed: number): string {
  const words = ['the', 'journey', 'of', 'a', 'request', 'through', 'queue', 'prefill', 'and', 'decode', `w${seed}`];
  let text = '';
  for (let i = 0; text.length < 1_000_000; i++) text += `${words[(i * 7 + seed) % words.length]}${i % 17 === 0 ? '.\n' : ' '}`;
  return text;
}

/** Words of random letters, seeded. */
function randomWords(length: number, seed: number): string {
  const rng = new Rng(seed);
  let text = '';
  while (text.length < length) {
    text += ' ';
    for (let i = 2 + (rng.nextUint32() % 9); i > 0; i--) text += String.fromCharCode(97 + (rng.nextUint32() % 26));
  }
  return text;
}

describe('a flood of megabyte prompts on a real vocabulary', () => {
  it('leaves /health answering within a second throughout, refuses what cannot fit, and tokenizes the rest', async () => {
    let flooding = true;
    let worst = 0;
    let probes = 0;
    const health = (async () => {
      while (flooding) {
        const start = performance.now();
        assert.equal((await fetch(`${t.url}/health`)).status, 200);
        worst = Math.max(worst, performance.now() - start);
        probes++;
      }
    })();
    const requests = Array.from({ length: 8 }, (_, i) =>
      i % 2 === 0 ? post(`${t.url}/v1/completions`, { model, prompt: megabyte(i), max_tokens: 4 }) : post(`${t.url}/tokenize`, { model, prompt: megabyte(i) }),
    );
    const results = await Promise.all(requests);
    flooding = false;
    await health;
    for (const [i, r] of results.entries()) {
      if (i % 2 === 0) {
        assert.equal(r.status, 400, JSON.stringify(r.json).slice(0, 200));
        assert.equal(r.json.error.code, 'context_length_exceeded');
        assert.equal(r.json.error.param, 'prompt');
      } else {
        assert.equal(r.status, 200);
        assert.ok(r.json.count > 100_000, `a megabyte is many tokens (${r.json.count})`);
      }
    }
    assert.ok(probes > 3, `health was asked ${probes} times during the flood`);
    assert.ok(worst < 1000, `the slowest health check took ${worst.toFixed(0)} ms`);
  });

  it('answers 503 with Retry-After once the tokenizer queue is full, and nothing else', async () => {
    // more than the 64 the queue holds, with one on its thread; words that never repeat, so no cache helps
    const results = await Promise.all(Array.from({ length: 72 }, (_, i) => post(`${t.url}/tokenize`, { model, prompt: randomWords(120_000, i) })));
    const statuses = new Set(results.map((r) => r.status));
    assert.deepEqual([...statuses].filter((s) => s !== 200 && s !== 503), []);
    const refused = results.filter((r) => r.status === 503);
    assert.ok(refused.length > 0, 'some were refused');
    for (const r of refused) {
      assert.equal(r.headers.get('retry-after'), '1');
      assert.equal(r.json.error.type, 'overloaded_error');
    }
    assert.equal((await post(`${t.url}/tokenize`, { model, prompt: 'after the flood' })).status, 200);
  });
});
