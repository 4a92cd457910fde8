import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { ByteTokenizer } from '../../lib/tokenizer/byte-tokenizer.js';
import { startServer, type TestServer } from '../helpers/server.js';

const MODEL = 'dummy-tiny';
const tokenizer = new ByteTokenizer();
/** Server-specific fields the client passes through untouched. */
const extra = <T>(params: T & Record<string, unknown>): T => params;

describe('the official openai client against the server', () => {
  let t: TestServer;
  before(async () => (t = await startServer()));
  after(() => t.close());

  it('lists the served model', async () => {
    const models = await t.client.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      [MODEL],
    );
  });

  it('completes a chat, with usage that matches the token counts', async () => {
    const messages = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'Hello there' },
    ];
    const response = await t.client.chat.completions.create(extra({ model: MODEL, messages, max_tokens: 9, seed: 3, ignore_eos: true }));
    assert.equal(response.object, 'chat.completion');
    assert.match(response.id, /^chatcmpl-/);
    assert.equal(response.model, MODEL);
    assert.equal(response.choices.length, 1);
    assert.equal(response.choices[0].message.role, 'assistant');
    assert.equal(response.choices[0].finish_reason, 'length');
    assert.deepEqual(response.usage, {
      prompt_tokens: tokenizer.applyChatTemplate(messages).length,
      completion_tokens: 9,
      total_tokens: tokenizer.applyChatTemplate(messages).length + 9,
    });
  });

  it('streams a chat that adds up to the same text as the non-streamed answer, then usage and [DONE]', async () => {
    const params = { model: MODEL, messages: [{ role: 'user' as const, content: 'stream me' }], max_tokens: 12, seed: 11, temperature: 0.9, ignore_eos: true };
    const whole = await t.client.chat.completions.create(extra(params));
    const stream = await t.client.chat.completions.create(extra({ ...params, stream: true, stream_options: { include_usage: true } }));
    let text = '';
    let role: string | undefined;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        role ??= choice.delta.role;
        text += choice.delta.content ?? '';
        finish = choice.finish_reason ?? finish;
      }
    }
    assert.equal(role, 'assistant');
    assert.equal(text, whole.choices[0].message.content);
    assert.equal(finish, 'length');
    assert.deepEqual(usage, whole.usage);
  });

  it('gives the same text for the same seed and other text for another seed', async () => {
    const ask = (seed: number) =>
      t.client.chat.completions
        .create(extra({ model: MODEL, messages: [{ role: 'user' as const, content: 'seed?' }], max_tokens: 16, seed, temperature: 1, ignore_eos: true }))
        .then((r) => r.choices[0].message.content);
    const first = await ask(42);
    assert.equal(await ask(42), first);
    assert.notEqual(await ask(43), first);
  });

  it('returns n choices, each reproducible, for n > 1', async () => {
    const params = extra({ model: MODEL, messages: [{ role: 'user' as const, content: 'many' }], max_tokens: 10, n: 3, seed: 5, temperature: 1, ignore_eos: true });
    const a = await t.client.chat.completions.create(params);
    const b = await t.client.chat.completions.create(params);
    assert.deepEqual(
      a.choices.map((c) => c.index),
      [0, 1, 2],
    );
    assert.deepEqual(a.choices, b.choices);
    assert.equal(new Set(a.choices.map((c) => c.message.content)).size, 3, 'the choices differ');
    assert.equal(a.usage?.completion_tokens, 30);
    // choice 0 of n is what n = 1 with the same seed gives
    const single = await t.client.chat.completions.create({ ...params, n: 1 });
    assert.equal(single.choices[0].message.content, a.choices[0].message.content);
  });

  it('stops at a stop string, leaving it out, and says so', async () => {
    const params = { model: MODEL, prompt: 'Find the stop', max_tokens: 40, seed: 8, temperature: 1, ignore_eos: true };
    const free = (await t.client.completions.create(extra(params))).choices[0].text;
    const stop = [...free.slice(10, 12)].every((c) => c.charCodeAt(0) < 128) ? free.slice(10, 12) : free.slice(10, 11);
    const cut = free.indexOf(stop);
    for (const stream of [false, true]) {
      let text = '';
      let finish: string | null = null;
      if (stream) {
        for await (const chunk of await t.client.completions.create(extra({ ...params, stop, stream: true }))) {
          text += chunk.choices[0]?.text ?? '';
          finish = chunk.choices[0]?.finish_reason ?? finish;
        }
      } else {
        const r = await t.client.completions.create(extra({ ...params, stop: [stop, 'never-seen-string'] }));
        text = r.choices[0].text;
        finish = r.choices[0].finish_reason;
      }
      assert.equal(text, free.slice(0, cut), `stream: ${stream}`);
      assert.equal(finish, 'stop');
    }
  });

  it('completes several prompts given as strings or token ids, indexing choices prompt by prompt', async () => {
    const r = await t.client.completions.create(extra({ model: MODEL, prompt: ['one', 'two'], n: 2, max_tokens: 3, ignore_eos: true }));
    assert.deepEqual(
      r.choices.map((c) => c.index),
      [0, 1, 2, 3],
    );
    assert.equal(r.usage?.prompt_tokens, tokenizer.encode('one').length + tokenizer.encode('two').length);
    assert.equal(r.usage?.completion_tokens, 12);
    const ids = tokenizer.encode('one');
    const byIds = await t.client.completions.create(extra({ model: MODEL, prompt: ids, max_tokens: 3, ignore_eos: true, temperature: 0 }));
    const byText = await t.client.completions.create(extra({ model: MODEL, prompt: 'one', max_tokens: 3, ignore_eos: true, temperature: 0 }));
    assert.equal(byIds.choices[0].text, byText.choices[0].text);
    const echoed = await t.client.completions.create(extra({ model: MODEL, prompt: 'one', max_tokens: 3, ignore_eos: true, temperature: 0, echo: true }));
    assert.equal(echoed.choices[0].text, `one${byText.choices[0].text}`);
  });

  it('defaults max_tokens to 16 for completions, like the OpenAI API', async () => {
    const r = await t.client.completions.create(extra({ model: MODEL, prompt: 'x', ignore_eos: true }));
    assert.equal(r.usage?.completion_tokens, 16);
  });

  it('surfaces API errors as the client’s typed errors with the right status', async () => {
    const chat = (params: Record<string, unknown>) => t.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], ...params } as never);
    await assert.rejects(chat({ temperature: 5 }), (e: unknown) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === 'temperature');
    await assert.rejects(chat({ model: 'gpt-4o' }), (e: unknown) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
    await assert.rejects(chat({ max_tokens: 100_000 }), (e: unknown) => e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded');
    await assert.rejects(t.client.models.retrieve('nope'), (e: unknown) => e instanceof OpenAI.NotFoundError);
  });

  it('requires the API key when one is set, and accepts the right one', async () => {
    const locked = await startServer({ apiKey: 'sk-test-123' });
    try {
      const wrong = new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'sk-test-124', maxRetries: 0 });
      await assert.rejects(wrong.models.list(), (e: unknown) => e instanceof OpenAI.AuthenticationError && e.status === 401);
      const response = await fetch(`${locked.url}/v1/models`);
      assert.equal(response.status, 401);
      assert.deepEqual(((await response.json()) as { error: { code: string } }).error.code, 'invalid_api_key');
      assert.equal((await locked.client.models.list()).data[0].id, MODEL);
      assert.equal((await fetch(`${locked.url}/health`)).status, 200, '/health needs no key');
    } finally {
      await locked.close();
    }
  });

  it('answers 503 with Retry-After when the engine is at its limit', async () => {
    const busy = await startServer({ maxPendingPerWorker: 1 });
    try {
      const held = await busy.client.chat.completions.create(
        extra({ model: MODEL, messages: [{ role: 'user' as const, content: 'hold' }], max_tokens: 200, ignore_eos: true, stream: true }),
      );
      const iterator = held[Symbol.asyncIterator]();
      await iterator.next(); // the first request holds the worker's only slot
      const refused = await fetch(`${busy.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, prompt: 'x' }),
      });
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'overloaded');
      while (!(await iterator.next()).done);
    } finally {
      await busy.close();
    }
  });
});
