import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OtlpReceiver } from '../../tools/otlp-receiver.js';
import type { TestServer } from '../helpers/server.js';
import { postJson, startTracedServer } from '../helpers/tracing.js';

const MODEL = 'dummy-tiny';
let receiver: OtlpReceiver;
let t: TestServer;
before(async () => {
  receiver = await OtlpReceiver.start();
  t = await startTracedServer(receiver, { maxNumSeqs: 8 });
});
after(async () => {
  await t.close();
  await receiver.close();
});

describe('requests that share an X-Request-Id', () => {
  it('each get their own API span, exported and parenting their own core spans, and their own journey', async () => {
    const id = 'shared-id-1';
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => postJson(`${t.url}/v1/completions`, { model: MODEL, prompt: `p${i}`, max_tokens: 4, n: 2 }, { 'x-request-id': id })));
    for (const r of results) assert.equal(r.status, 200);
    const spans = await receiver.waitFor((all) => all.filter((s) => s.attributes['gen_ai.request.id'] === id && s.name === 'llm_request').length >= 6 && all.filter((s) => s.attributes['gen_ai.request.id'] === id && s.name === 'llm_core').length >= 12);
    const api = spans.filter((s) => s.attributes['gen_ai.request.id'] === id && s.name === 'llm_request');
    const core = spans.filter((s) => s.attributes['gen_ai.request.id'] === id && s.name === 'llm_core');
    assert.equal(api.length, 6, 'one API span per request');
    assert.equal(new Set(api.map((s) => s.spanId)).size, 6);
    for (const a of api) assert.ok(a.events.some((e) => e.name === 'api.DEPARTED'), 'each API span ended as departed');
    for (const a of api) assert.equal(core.filter((c) => c.parentSpanId === a.spanId && c.traceId === a.traceId).length, 2, 'each API span parents its own two core spans');
    assert.equal(t.server.numOpenSpans, 0, 'no API span left open');
    const list = (await (await fetch(`${t.url}/v1/journeys?limit=50`)).json()) as { data: { id: string }[] };
    assert.equal(list.data.filter((j) => j.id === id).length, 6, 'the journey store keeps every one of them');
  });
});
