import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readGguf } from '../../lib/formats/gguf.js';
import { vocabFromGguf } from '../../lib/formats/gguf-vocab.js';
import { VocabTokenizer } from '../../lib/tokenizer/vocab-tokenizer.js';
import { checkpointFolder } from '../../tools/checkpoints.js';
import { readGolden, type ChatTemplateGolden, type ModelGolden } from '../helpers/goldens.js';
import { OtlpReceiver } from '../../tools/otlp-receiver.js';
import type { TestServer } from '../helpers/server.js';
import { spansOf, startTracedServer } from '../helpers/tracing.js';

const NAME = 'qwen2-eog-f16';
const MODEL = `${NAME}.gguf`;
const folder = checkpointFolder();
let receiver: OtlpReceiver;
let t: TestServer;
let tokenizer: VocabTokenizer;
before(async () => {
  const file = folder.build(NAME).path;
  tokenizer = new VocabTokenizer(vocabFromGguf(readGguf(file)));
  receiver = await OtlpReceiver.start();
  t = await startTracedServer(receiver, { model: file });
});
after(async () => {
  await t.close();
  await receiver.close();
  folder.remove();
});

const golden = readGolden<ModelGolden>(`model-${NAME}.json`);
const textOf = (ids: number[]) => new TextDecoder().decode(Uint8Array.from(ids.flatMap((id) => [...tokenizer.pieceBytes(id)])));

describe('a served GGUF checkpoint', () => {
  it('is listed under its file name, with its context length', async () => {
    const models = await t.client.models.list();
    assert.deepEqual(
      models.data.map((m) => [m.id, (m as unknown as { max_model_len: number }).max_model_len]),
      [[MODEL, 512]],
    );
  });

  it("answers the openai client's chat request through the model's own template, tokenized as llama-server tokenizes it", async () => {
    const chat = readGolden<ChatTemplateGolden>('chat-templates.json').templates.find((g) => g.vocab === 'qwen2.5' && g.messages.length === 1) as ChatTemplateGolden['templates'][number];
    const response = await t.client.chat.completions.create({ model: MODEL, messages: chat.messages, max_tokens: 5, temperature: 0 });
    assert.equal(response.usage?.prompt_tokens, chat.ids?.length);
    assert.equal(response.model, MODEL);
    assert.equal(typeof response.choices[0].message.content, 'string');
  });

  it("continues a prompt greedily with llama.cpp's tokens, and stops at an end-of-generation token that is not EOS", async () => {
    const prompt = golden.prompts[0];
    const tokens = prompt.steps.map((s) => s.token);
    const stopAt = tokens.indexOf(151643); // <|endoftext|>; the EOS is <|im_end|>
    assert.ok(stopAt > 0, 'the golden continuation reaches <|endoftext|>');
    const response = await t.client.completions.create({ model: MODEL, prompt: prompt.text, max_tokens: 32, temperature: 0 });
    assert.equal(response.usage?.prompt_tokens, prompt.promptIds.length);
    assert.equal(response.choices[0].finish_reason, 'stop');
    assert.equal(response.choices[0].text, textOf(tokens.slice(0, stopAt)));
    assert.equal(response.usage?.completion_tokens, stopAt + 1);
  });

  it('streams the same text, never half a character', async () => {
    const prompt = golden.prompts[2];
    const params = { model: MODEL, prompt: prompt.text, max_tokens: 32, temperature: 0 };
    const whole = await t.client.completions.create(params);
    let streamed = '';
    for await (const chunk of await t.client.completions.create({ ...params, stream: true })) {
      const piece = chunk.choices[0]?.text ?? '';
      assert.ok(!/[\ud800-\udbff]$/.test(piece), 'no chunk ends in half a surrogate pair');
      streamed += piece;
    }
    assert.equal(streamed, whole.choices[0].text);
  });

  it('is traced like the built-in models', async () => {
    const response = await fetch(`${t.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: 'trace a real model', max_tokens: 3, temperature: 0, ignore_eos: true }),
    });
    await response.text();
    const { api, core } = await spansOf(receiver, response.headers.get('x-request-id') as string, 1);
    assert.equal(api.attributes['gen_ai.request.model'], MODEL);
    assert.equal(api.attributes['gen_ai.usage.input_tokens'], tokenizer.encode('trace a real model').length);
    assert.equal(api.attributes['gen_ai.usage.output_tokens'], 3);
    assert.equal(core[0].parentSpanId, api.spanId);
    assert.equal(core[0].events.at(-1)?.name, 'journey.FINISHED');
  });
});
