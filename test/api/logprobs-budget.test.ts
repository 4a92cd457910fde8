import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { post, startServer, type TestServer } from '../helpers/server.js';

const MODEL = 'dummy-tiny';

/** A full garbage collection, then the heap in use (MiB): what this process holds, server included. */
function heapAfterGc(): number {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

describe('log probabilities of many choices and long outputs', () => {
  let t: TestServer;
  before(async () => (t = await startServer({ maxNumSeqs: 32 })));
  after(() => t.close());

  it('refuses up front, naming the fields, a non-streamed response that would outgrow its budget', async () => {
    const start = performance.now();
    const chat = await post(`${t.url}/v1/chat/completions`, { model: MODEL, messages: [{ role: 'user', content: 'x' }], n: 128, max_tokens: 2000, logprobs: true, top_logprobs: 20 });
    assert.equal(chat.status, 400);
    assert.equal(chat.json.error.param, 'top_logprobs');
    assert.match(chat.json.error.message, /log probabilities .* lower n, max_tokens or top_logprobs, or set stream: true/);
    const completion = await post(`${t.url}/v1/completions`, { model: MODEL, prompt: 'x', n: 64, max_tokens: 1000, logprobs: 5 });
    assert.equal(completion.status, 400);
    assert.equal(completion.json.error.param, 'logprobs');
    assert.ok(performance.now() - start < 5000, 'refused before any generation');
  });

  it('serves a large non-streamed response within the budget, whole and parseable', async () => {
    const r = await post(`${t.url}/v1/chat/completions`, { model: MODEL, messages: [{ role: 'user', content: 'x' }], n: 16, max_tokens: 300, ignore_eos: true, logprobs: true, top_logprobs: 20 });
    assert.equal(r.status, 200);
    assert.equal(r.json.choices.length, 16);
    for (const c of r.json.choices) {
      assert.equal(c.logprobs.content.length, 300);
      assert.equal(c.logprobs.content[0].top_logprobs.length, 20);
    }
    assert.equal(r.headers.get('content-length'), null, 'sent in pieces, not one string');
  });

  it('keeps no log probabilities of a stream once they are sent: the heap stays flat as it goes', async () => {
    const response = await fetch(`${t.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: 'x', n: 24, max_tokens: 1200, ignore_eos: true, logprobs: 20, stream: true }),
    });
    assert.equal(response.status, 200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let tail = '';
    let events = 0;
    const samples: number[] = [];
    const total = 24 * 1200;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const text = tail + decoder.decode(value, { stream: true });
      const parts = text.split('\n\n');
      tail = parts.pop() ?? '';
      events += parts.filter((p) => p.startsWith('data: {')).length;
      // a quarter in, and nearly done: what the server holds should not have grown with the tokens sent
      if ((samples.length === 0 && events > total / 4) || (samples.length === 1 && events > (total * 9) / 10)) samples.push(heapAfterGc());
    }
    assert.equal(samples.length, 2);
    const grown = samples[1] - samples[0];
    assert.ok(grown < 8, `the heap grew by ${grown.toFixed(1)} MiB while ${Math.round(0.65 * total)} tokens with 20 alternatives each went out`);
  });
});
