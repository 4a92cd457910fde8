import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { post, startServer, type TestServer } from '../helpers/server.js';

const MODEL = 'dummy-tiny';
const chat = (extra: Record<string, unknown>) => ({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, ...extra });

describe('malformed input gets a clear 4xx and the server keeps serving', () => {
  let t: TestServer;
  before(async () => (t = await startServer({ maxRequestBodyBytes: 4096 })));
  after(() => t.close());

  const cases: [string, string, unknown, number, string | null][] = [
    ['bad JSON', '/v1/chat/completions', '{"model": "dummy-tiny", "messages": [', 400, null],
    ['a JSON array instead of an object', '/v1/chat/completions', '[1, 2]', 400, null],
    ['a JSON number', '/v1/completions', '42', 400, null],
    ['a model that is not a string', '/v1/chat/completions', chat({ model: 7 }), 400, 'model'],
    ['an unknown model', '/v1/chat/completions', chat({ model: 'other' }), 404, 'model'],
    ['a string temperature', '/v1/chat/completions', chat({ temperature: 'hot' }), 400, 'temperature'],
    ['a temperature out of range', '/v1/chat/completions', chat({ temperature: 2.5 }), 400, 'temperature'],
    ['a huge max_tokens', '/v1/chat/completions', chat({ max_tokens: 1e30 }), 400, 'max_tokens'],
    ['a negative max_tokens', '/v1/chat/completions', chat({ max_tokens: -5 }), 400, 'max_tokens'],
    ['a fractional max_tokens', '/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 2.5 }, 400, 'max_tokens'],
    ['max_completion_tokens of zero', '/v1/chat/completions', chat({ max_completion_tokens: 0 }), 400, 'max_completion_tokens'],
    ['n of zero', '/v1/chat/completions', chat({ n: 0 }), 400, 'n'],
    ['n of a thousand', '/v1/chat/completions', chat({ n: 1000 }), 400, 'n'],
    ['top_p of zero', '/v1/chat/completions', chat({ top_p: 0 }), 400, 'top_p'],
    ['a seed beyond 2^53', '/v1/chat/completions', chat({ seed: 2 ** 60 }), 400, 'seed'],
    ['empty messages', '/v1/chat/completions', chat({ messages: [] }), 400, 'messages'],
    ['messages that are not an array', '/v1/chat/completions', chat({ messages: 'hi' }), 400, 'messages'],
    ['an unknown role', '/v1/chat/completions', chat({ messages: [{ role: 'wizard', content: 'x' }] }), 400, 'messages[0].role'],
    ['a message without content', '/v1/chat/completions', chat({ messages: [{ role: 'user' }] }), 400, 'messages[0].content'],
    ['an image part', '/v1/chat/completions', chat({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }), 400, 'messages[0].content[0]'],
    ['a numeric stop', '/v1/chat/completions', chat({ stop: 5 }), 400, 'stop'],
    ['too many stop strings', '/v1/chat/completions', chat({ stop: Array.from({ length: 20 }, (_, i) => `s${i}`) }), 400, 'stop'],
    ['a string stream flag', '/v1/chat/completions', chat({ stream: 'yes' }), 400, 'stream'],
    ['stream_options without stream', '/v1/chat/completions', chat({ stream_options: { include_usage: true } }), 400, 'stream_options'],
    ['a penalty out of range', '/v1/chat/completions', chat({ presence_penalty: 3 }), 400, 'presence_penalty'],
    ['top_logprobs without logprobs', '/v1/chat/completions', chat({ top_logprobs: 2 }), 400, 'top_logprobs'],
    ['tools', '/v1/chat/completions', chat({ tools: [{ type: 'function', function: { name: 'f' } }] }), 400, 'tools'],
    ['an unknown field', '/v1/chat/completions', chat({ frobnicate: 1 }), 400, 'frobnicate'],
    ['an unknown field on completions', '/v1/completions', { model: MODEL, prompt: 'x', best_of_luck: true }, 400, 'best_of_luck'],
    ['max_tokens of zero on chat', '/v1/chat/completions', chat({ max_tokens: 0 }), 400, 'max_tokens'],
    ['max_tokens of zero without echo', '/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 0 }, 400, 'max_tokens'],
    ['a logit_bias key that is not a token id', '/v1/chat/completions', chat({ logit_bias: { abc: 1 } }), 400, 'logit_bias'],
    ['store: true on responses', '/v1/responses', { model: MODEL, input: 'x', store: true }, 400, 'store'],
    ['previous_response_id on responses', '/v1/responses', { model: MODEL, input: 'x', previous_response_id: 'resp_1' }, 400, 'previous_response_id'],
    ['an empty input on responses', '/v1/responses', { model: MODEL, input: '' }, 400, 'input'],
    ['an empty prompt array', '/v1/completions', { model: MODEL, prompt: [] }, 400, 'prompt'],
    ['token ids outside the vocabulary', '/v1/completions', { model: MODEL, prompt: [1, 99999] }, 400, 'prompt'],
    ['a prompt that does not fit the context', '/v1/completions', { model: MODEL, prompt: 'x'.repeat(2100) }, 400, 'prompt'],
  ];

  for (const [what, path, body, status, param] of cases) {
    it(`${what} → ${status}`, async () => {
      const { status: got, json } = await post(t.url + path, body);
      assert.equal(got, status);
      assert.equal(typeof json.error.message, 'string');
      assert.ok(json.error.message.length > 0);
      assert.equal(json.error.type, 'invalid_request_error');
      if (param !== null) assert.equal(json.error.param, param);
      assert.ok(!/\n\s+at /.test(json.error.message), 'no stack trace');
    });
  }

  it('context too long: 400 context_length_exceeded', async () => {
    const { status, json } = await post(`${t.url}/v1/chat/completions`, chat({ max_tokens: 5000 }));
    assert.equal(status, 400);
    assert.equal(json.error.code, 'context_length_exceeded');
  });

  it('wrong content type: 415', async () => {
    const { status, json } = await post(`${t.url}/v1/chat/completions`, JSON.stringify(chat({})), { 'content-type': 'text/plain' });
    assert.equal(status, 415);
    assert.equal(json.error.code, 'unsupported_media_type');
  });

  it('a body over the limit: 413, declared or not, without reading it all', async () => {
    const big = JSON.stringify(chat({ messages: [{ role: 'user', content: 'x'.repeat(10_000) }] }));
    const declared = await post(`${t.url}/v1/chat/completions`, big);
    assert.equal(declared.status, 413);
    assert.equal(declared.json.error.code, 'request_too_large');
    // chunked, with no length announced: refused once the limit is crossed, while still sending
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${t.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      const piece = 'x'.repeat(1024);
      let sent = 0;
      const pump = () => {
        while (sent < 10_000 && req.write(piece)) sent++;
        if (sent < 10_000) req.once('drain', pump);
      };
      req.write('{"model": "dummy-tiny", "messages": [{"role": "user", "content": "');
      pump();
    });
    assert.equal(status, 413);
  });

  it('an unknown route: 404; a wrong method: 405, both in the OpenAI error shape', async () => {
    const missing = await fetch(`${t.url}/v1/engines`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
    const wrongMethod = await fetch(`${t.url}/v1/chat/completions`);
    assert.equal(wrongMethod.status, 405);
    assert.ok(((await wrongMethod.json()) as { error: { message: string } }).error.message);
  });

  it('still serves a valid request after all of that', async () => {
    const { status, json } = await post(`${t.url}/v1/chat/completions`, chat({}));
    assert.equal(status, 200);
    assert.equal(json.choices.length, 1);
    assert.equal((await fetch(`${t.url}/health`)).status, 200);
  });
});
