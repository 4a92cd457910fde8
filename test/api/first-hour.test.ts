import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { createLogger } from '../../lib/util/logger.js';
import { post, startServer, type TestServer } from '../helpers/server.js';

const MODEL = 'dummy-tiny';
/** Server-specific fields the client passes through untouched. */
const extra = <T>(params: T & Record<string, unknown>): T => params;

describe('sampling controls, logprobs and model names through the official openai client', () => {
  let t: TestServer;
  const logLines: string[] = [];
  before(async () => {
    t = await startServer({ servedModelName: [MODEL, 'tiny-alias'], logger: createLogger({ level: 'info', write: (l) => logLines.push(l) }) });
  });
  after(() => t.close());

  const greedyTokens = async (prompt: string, n: number, more: Record<string, unknown> = {}) => {
    const r = await t.client.completions.create(extra({ model: MODEL, prompt, max_tokens: n, temperature: 0, ignore_eos: true, logprobs: 0, ...more }));
    return (r.choices[0].logprobs?.tokens ?? []).length === n ? r : assert.fail('every token has a logprobs entry');
  };

  it('stop_token_ids ends the output at that token, and min_tokens holds it off', async () => {
    const plain = await t.client.completions.create(extra({ model: MODEL, prompt: 'stop here', max_tokens: 6, temperature: 0, ignore_eos: true }));
    const ids = await t.client.completions.create(extra({ model: MODEL, prompt: 'stop here', max_tokens: 6, temperature: 0, ignore_eos: true, logprobs: 0 }));
    const second = ids.choices[0].logprobs?.tokens?.[1] as string;
    const secondId = second.charCodeAt(0); // the byte tokenizer: one byte per token
    const stopped = await t.client.completions.create(extra({ model: MODEL, prompt: 'stop here', max_tokens: 6, temperature: 0, ignore_eos: true, stop_token_ids: [secondId] }));
    assert.equal(stopped.choices[0].finish_reason, 'stop');
    assert.ok(stopped.usage && stopped.usage.completion_tokens <= 2, 'stopped at the token, not after');
    assert.equal(plain.choices[0].text.startsWith(stopped.choices[0].text), true);
    const held = await t.client.completions.create(extra({ model: MODEL, prompt: 'stop here', max_tokens: 6, temperature: 0, ignore_eos: true, stop_token_ids: [secondId], min_tokens: 4, logprobs: 0 }));
    const heldTokens = held.choices[0].logprobs?.tokens ?? [];
    assert.ok(heldTokens.length >= 4, 'min_tokens generated first');
    assert.ok(!heldTokens.slice(0, 4).includes(second), 'the stop token cannot be sampled before min_tokens');
  });

  it('logit_bias of +100 makes greedy decoding pick that token', async () => {
    const r = await t.client.completions.create(extra({ model: MODEL, prompt: 'bias', max_tokens: 5, temperature: 0, ignore_eos: true, logit_bias: { '65': 100 } }));
    assert.equal(r.choices[0].text, 'AAAAA');
  });

  it('min_p of 1 keeps only the most likely token, so sampling at temperature 1 is greedy', async () => {
    const greedy = await greedyTokens('min p', 8);
    const sampled = await t.client.completions.create(extra({ model: MODEL, prompt: 'min p', max_tokens: 8, temperature: 1, min_p: 1, seed: 5, ignore_eos: true }));
    assert.equal(sampled.choices[0].text, greedy.choices[0].text);
  });

  it('presence, frequency and repetition penalties change what greedy decoding repeats', async () => {
    const plain = await greedyTokens('aaaa', 24);
    const repeats = (tokens: readonly string[]) => tokens.length - new Set(tokens).size;
    for (const penalty of [{ presence_penalty: 2 }, { frequency_penalty: 2 }, { repetition_penalty: 2 }]) {
      const penalised = await greedyTokens('aaaa', 24, penalty);
      assert.ok(repeats(penalised.choices[0].logprobs?.tokens ?? []) < repeats(plain.choices[0].logprobs?.tokens ?? []), `${JSON.stringify(penalty)} repeats less`);
    }
  });

  it('include_stop_str_in_output keeps the stop string', async () => {
    const text = (await greedyTokens('keep the stop', 10)).choices[0].text;
    const stop = text.slice(3, 5);
    const cut = await t.client.completions.create(extra({ model: MODEL, prompt: 'keep the stop', max_tokens: 10, temperature: 0, ignore_eos: true, stop: [stop] }));
    const kept = await t.client.completions.create(extra({ model: MODEL, prompt: 'keep the stop', max_tokens: 10, temperature: 0, ignore_eos: true, stop: [stop], include_stop_str_in_output: true }));
    assert.equal(kept.choices[0].text, cut.choices[0].text + stop);
  });

  it('chat logprobs: one entry per token, top_logprobs most likely first, the greedy token on top', async () => {
    const r = await t.client.chat.completions.create(extra({ model: MODEL, messages: [{ role: 'user', content: 'log' }], max_tokens: 6, temperature: 0, ignore_eos: true, logprobs: true, top_logprobs: 3 }));
    const content = r.choices[0].logprobs?.content ?? [];
    assert.equal(content.length, r.usage?.completion_tokens);
    assert.equal(content.map((c) => c.token).join(''), r.choices[0].message.content);
    for (const c of content) {
      assert.ok(c.logprob <= 0);
      assert.equal(c.top_logprobs.length, 3);
      assert.deepEqual(c.bytes, [...Buffer.from(c.token)]);
      assert.ok(c.top_logprobs[0].logprob >= c.top_logprobs[1].logprob && c.top_logprobs[1].logprob >= c.top_logprobs[2].logprob);
      assert.equal(c.top_logprobs[0].token, c.token, 'greedy picks the most likely token');
      assert.ok(Math.abs(c.top_logprobs[0].logprob - c.logprob) < 1e-6);
    }
  });

  it('chat logprobs stream too, and add up to the non-streamed ones', async () => {
    const params = { model: MODEL, messages: [{ role: 'user' as const, content: 'stream log' }], max_tokens: 7, temperature: 0, ignore_eos: true, logprobs: true, top_logprobs: 2 };
    const whole = await t.client.chat.completions.create(extra(params));
    const stream = await t.client.chat.completions.create(extra({ ...params, stream: true }));
    const streamed: OpenAI.ChatCompletionTokenLogprob[] = [];
    for await (const chunk of stream) for (const c of chunk.choices) streamed.push(...(c.logprobs?.content ?? []));
    assert.deepEqual(streamed, whole.choices[0].logprobs?.content);
  });

  it('completions echo + logprobs: the prompt scored (its first token null), then the completion, with text offsets', async () => {
    const prompt = 'score me';
    const r = await t.client.completions.create(extra({ model: MODEL, prompt, max_tokens: 3, temperature: 0, ignore_eos: true, echo: true, logprobs: 2 }));
    const lp = r.choices[0].logprobs as NonNullable<OpenAI.Completions.CompletionChoice['logprobs']>;
    const promptTokens = r.usage?.prompt_tokens as number;
    assert.equal(lp.tokens?.length, promptTokens + 3);
    assert.equal(lp.token_logprobs?.[0], null);
    assert.equal(lp.top_logprobs?.[0], null);
    for (const v of lp.token_logprobs?.slice(1) ?? []) assert.ok(typeof v === 'number' && v <= 0);
    assert.equal(lp.tokens?.join(''), r.choices[0].text);
    assert.ok(r.choices[0].text.startsWith(prompt));
    const offsets = lp.text_offset ?? [];
    for (let i = 1; i < offsets.length; i++) assert.equal(offsets[i], offsets[i - 1] + (lp.tokens?.[i - 1].length ?? 0));
  });

  it('scores a prompt with max_tokens 0 and echo, as evaluation harnesses do, consistently with generation', async () => {
    // the greedy continuation of "abc" scored as part of a prompt has the log probability it had when generated
    const generated = await greedyTokens('abc', 1);
    const next = generated.choices[0].logprobs?.tokens?.[0] as string;
    const nextLogprob = generated.choices[0].logprobs?.token_logprobs?.[0] as number;
    const scored = await t.client.completions.create(extra({ model: MODEL, prompt: `abc${next}`, max_tokens: 0, echo: true, logprobs: 1 }));
    const lp = scored.choices[0].logprobs as NonNullable<OpenAI.Completions.CompletionChoice['logprobs']>;
    assert.equal(scored.usage?.completion_tokens, 0);
    assert.equal(scored.choices[0].text, `abc${next}`);
    assert.equal(lp.tokens?.at(-1), next);
    assert.ok(Math.abs((lp.token_logprobs?.at(-1) as number) - nextLogprob) < 1e-4, `${lp.token_logprobs?.at(-1)} vs ${nextLogprob}`);
  });

  it('takes a request without model as the served model, answers each served name, and 404s others', async () => {
    const { status, json } = await post(`${t.url}/v1/completions`, { prompt: 'no model', max_tokens: 1 });
    assert.equal(status, 200);
    assert.equal(json.model, MODEL);
    const alias = await t.client.completions.create({ model: 'tiny-alias', prompt: 'alias', max_tokens: 1 });
    assert.equal(alias.model, 'tiny-alias');
    assert.deepEqual((await t.client.models.list()).data.map((m) => m.id), [MODEL, 'tiny-alias']);
    assert.equal((await t.client.models.retrieve('tiny-alias')).id, 'tiny-alias');
    await assert.rejects(t.client.models.retrieve('nope'), (e: unknown) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
    await assert.rejects(t.client.completions.create({ model: 'nope', prompt: 'x' }), (e: unknown) => e instanceof OpenAI.NotFoundError);
  });

  it('uses a safe X-Request-Id as the request id and echoes it; makes its own for an unsafe one', async () => {
    const ok = await post(`${t.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'id' }], max_tokens: 1 }, { 'x-request-id': 'client-42' });
    assert.equal(ok.headers.get('x-request-id'), 'client-42');
    assert.equal(ok.json.id, 'chatcmpl-client-42');
    const unsafe = await post(`${t.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'id' }], max_tokens: 1 }, { 'x-request-id': 'x'.repeat(300) });
    assert.match(unsafe.headers.get('x-request-id') ?? '', /^chatcmpl-[0-9a-f]{24}$/);
  });

  it('tokenizes and detokenizes as vLLM does', async () => {
    const tokenized = await post(`${t.url}/tokenize`, { prompt: 'hello' });
    assert.equal(tokenized.status, 200);
    assert.equal(tokenized.json.count, tokenized.json.tokens.length);
    assert.equal(tokenized.json.max_model_len, 2048);
    const plain = await post(`${t.url}/tokenize`, { prompt: 'hello', add_special_tokens: false });
    assert.deepEqual(plain.json.tokens, [...Buffer.from('hello')]);
    const back = await post(`${t.url}/detokenize`, { tokens: plain.json.tokens });
    assert.deepEqual(back.json, { prompt: 'hello' });
    const chat = await post(`${t.url}/tokenize`, { messages: [{ role: 'user', content: 'hi' }] });
    const completion = await t.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });
    assert.equal(chat.json.count, completion.usage?.prompt_tokens);
    assert.equal((await post(`${t.url}/detokenize`, { tokens: [-1] })).status, 400);
  });

  it('writes one access-log line per request, with counts and never text', async () => {
    const before = logLines.length;
    const secret = 'do-not-log-this-prompt';
    const r = await post(`${t.url}/v1/completions`, { prompt: secret, max_tokens: 2 }, { 'x-request-id': 'logged-1' });
    assert.equal(r.status, 200);
    await new Promise((resolve) => setImmediate(resolve));
    const lines = logLines.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    const access = lines.filter((l) => l.msg === 'request' && l.requestId === 'logged-1');
    assert.equal(access.length, 1);
    assert.equal(access[0].level, 'info');
    assert.equal(access[0].route, '/v1/completions');
    assert.equal(access[0].status, 200);
    assert.equal(access[0].promptTokens, r.json.usage.prompt_tokens);
    assert.equal(access[0].outputTokens, r.json.usage.completion_tokens);
    assert.ok(typeof access[0].ttftMs === 'number' && typeof access[0].durationMs === 'number');
    assert.ok(!logLines.slice(before).some((l) => l.includes(secret) || l.includes(r.json.choices[0].text || '\u0000')));
  });
});

describe('the Responses API through the official openai client', () => {
  let t: TestServer;
  before(async () => (t = await startServer()));
  after(() => t.close());

  it('answers responses.create with one assistant message, instructions and limits included', async () => {
    const r = await t.client.responses.create({ model: MODEL, input: 'Say something', instructions: 'Be brief.', max_output_tokens: 5, temperature: 0 });
    assert.equal(r.object, 'response');
    assert.match(r.id, /^resp-/);
    assert.equal(r.output.length, 1);
    const item = r.output[0] as OpenAI.Responses.ResponseOutputMessage;
    assert.equal(item.type, 'message');
    assert.equal(item.role, 'assistant');
    assert.equal(r.output_text, (item.content[0] as OpenAI.Responses.ResponseOutputText).text);
    assert.ok(r.usage && r.usage.output_tokens <= 5 && r.usage.input_tokens > 0);
    assert.ok(r.status === 'completed' || (r.status === 'incomplete' && r.incomplete_details?.reason === 'max_output_tokens'));
    // the same as a chat completion of the same messages
    const chat = await t.client.chat.completions.create({ model: MODEL, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say something' }], max_tokens: 5, temperature: 0 });
    assert.equal(r.output_text, chat.choices[0].message.content);
  });

  it('streams the Responses event sequence, adding up to the same text', async () => {
    const whole = await t.client.responses.create({ model: MODEL, input: [{ role: 'user', content: 'stream it' }], max_output_tokens: 8, temperature: 0 });
    const stream = await t.client.responses.create({ model: MODEL, input: [{ role: 'user', content: 'stream it' }], max_output_tokens: 8, temperature: 0, stream: true });
    const types: string[] = [];
    let text = '';
    let final: OpenAI.Responses.Response | null = null;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed' || event.type === 'response.incomplete') final = event.response;
    }
    assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    assert.deepEqual(types.slice(-4, -1), ['response.output_text.done', 'response.content_part.done', 'response.output_item.done']);
    assert.ok(['response.completed', 'response.incomplete'].includes(types.at(-1) as string));
    assert.equal(text, whole.output_text);
    assert.equal(final?.output_text ?? (final?.output[0] as OpenAI.Responses.ResponseOutputMessage).content.map((c) => (c as OpenAI.Responses.ResponseOutputText).text).join(''), whole.output_text);
  });

  it('refuses to store or to continue a stored response', async () => {
    await assert.rejects(t.client.responses.create({ model: MODEL, input: 'x', store: true }), (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'store');
    await assert.rejects(t.client.responses.create({ model: MODEL, input: 'x', previous_response_id: 'resp_1' }), (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'previous_response_id');
  });
});

describe('CORS', () => {
  it('answers a preflight from an allowed origin, and sets no allow header for another', async () => {
    const t = await startServer({ cors: { allowedOrigins: ['https://app.example'], allowedMethods: ['GET', 'POST'], allowedHeaders: ['authorization', 'content-type'], allowCredentials: false } });
    try {
      const preflight = await fetch(`${t.url}/v1/chat/completions`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example');
      assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
      const other = await fetch(`${t.url}/v1/models`, { headers: { origin: 'https://evil.example' } });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
      const allowed = await fetch(`${t.url}/v1/models`, { headers: { origin: 'https://app.example' } });
      assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example');
    } finally {
      await t.close();
    }
  });

  it('is off by default', async () => {
    const t = await startServer();
    try {
      const preflight = await fetch(`${t.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
      assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    } finally {
      await t.close();
    }
  });
});
