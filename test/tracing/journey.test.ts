import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../lib/util/logger.js';
import { OtlpReceiver } from '../../tools/otlp-receiver.js';
import type { TestServer } from '../helpers/server.js';
import { assertJourneyOrder, event, eventNames, postJson, spansOf, startTracedServer } from '../helpers/tracing.js';

const MODEL = 'dummy-tiny';
const CHAT = { model: MODEL, messages: [{ role: 'user', content: 'trace me' }], max_tokens: 6, ignore_eos: true };
const CORE_ATTRS = ['event.type', 'ts.monotonic', 'ts.monotonic_ns', 'scheduler.step', 'phase', 'prefill.done_tokens', 'prefill.total_tokens', 'decode.done_tokens', 'decode.max_tokens', 'num_preemptions'];

// One receiver for the whole file: the API thread's tracer provider is created once per thread
// and keeps the endpoint it was first given, as the tracing contract asks.
let receiver: OtlpReceiver;
before(async () => (receiver = await OtlpReceiver.start()));
after(() => receiver.close());

describe('journey tracing against a real OTLP receiver', () => {
  let t: TestServer;
  const logLines: string[] = [];
  before(async () => {
    t = await startTracedServer(receiver, { logger: createLogger({ level: 'debug', write: (line) => logLines.push(line) }) });
  });
  after(() => t.close());

  it('records an llm_request span and a linked llm_core span sharing the trace and the request id', async () => {
    const { status, requestId } = await postJson(`${t.url}/v1/chat/completions`, { ...CHAT, temperature: 0.5, top_p: 0.9, seed: 7, n: 1 });
    assert.equal(status, 200);
    const { api, core } = await spansOf(receiver, requestId, 1);
    assert.equal(core.length, 1);
    assert.equal(api.scope, 'journey.api');
    assert.equal(api.kind, 'SPAN_KIND_SERVER');
    assert.equal(core[0].scope, 'journey.scheduler');
    assert.equal(core[0].kind, 'SPAN_KIND_INTERNAL');
    assert.equal(core[0].traceId, api.traceId);
    assert.equal(core[0].parentSpanId, api.spanId);
    assert.equal(api.parentSpanId, '', 'a new root without a client traceparent');
    assert.equal(core[0].attributes['gen_ai.request.id'], api.attributes['gen_ai.request.id']);
    assert.deepEqual(
      {
        route: api.attributes['http.route'],
        op: api.attributes['gen_ai.operation.name'],
        model: api.attributes['gen_ai.request.model'],
        served: api.attributes['gen_ai.response.model'],
        temperature: api.attributes['gen_ai.request.temperature'],
        topP: api.attributes['gen_ai.request.top_p'],
        maxTokens: api.attributes['gen_ai.request.max_tokens'],
        n: api.attributes['gen_ai.request.n'],
        seed: api.attributes['gen_ai.request.seed'],
        stream: api.attributes['gen_ai.request.stream'],
        output: api.attributes['gen_ai.usage.output_tokens'],
        finish: api.attributes['gen_ai.response.finish_reasons'],
      },
      { route: '/v1/chat/completions', op: 'chat', model: MODEL, served: MODEL, temperature: 0.5, topP: 0.9, maxTokens: 6, n: 1, seed: 7, stream: false, output: 6, finish: ['length'] },
    );
    assert.equal(typeof api.attributes['gen_ai.usage.input_tokens'], 'number');
    assert.equal(api.resource['service.name'], 'journey-llm');
    assert.equal(api.resource['thread.name'], 'api');
    assert.equal(core[0].resource['thread.name'], 'engine-worker-0');
    assert.equal(core[0].resource['service.instance.id'], api.resource['service.instance.id']);
    assert.equal(api.status.code, 'STATUS_CODE_UNSET');
  });

  it('emits every event of the contract, with its attributes, in journey order', async () => {
    for (const stream of [false, true]) {
      const response = await fetch(`${t.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, prompt: 'order', max_tokens: 5, ignore_eos: true, stream }),
      });
      await response.text();
      const { api, core } = await spansOf(receiver, response.headers.get('x-request-id') as string, 1);
      assert.deepEqual(eventNames(api), ['api.ARRIVED', 'api.HANDOFF_TO_CORE', 'api.FIRST_RESPONSE_FROM_CORE', 'api.DEPARTED']);
      for (const e of api.events) {
        assert.equal(typeof e.attributes['event.ts.monotonic'], 'number');
        assert.ok(Number.isInteger(e.attributes['event.ts.monotonic_ns']));
        assert.ok(e.timeUnixNano > 1_600_000_000_000_000_000n, 'event timestamps are wall-clock');
      }
      assert.deepEqual(eventNames(core[0]), ['journey.QUEUED', 'journey.SCHEDULED', 'journey.FIRST_TOKEN', 'journey.FINISHED']);
      for (const e of core[0].events) for (const key of CORE_ATTRS) assert.ok(key in e.attributes, `${e.name} carries ${key}`);
      const queued = event(core[0], 'journey.QUEUED').attributes;
      assert.equal(queued['phase'], 'WAITING');
      assert.equal(event(core[0], 'journey.SCHEDULED').attributes['schedule.kind'], 'FIRST');
      assert.equal(event(core[0], 'journey.SCHEDULED').attributes['phase'], 'PREFILL');
      assert.ok(Number(event(core[0], 'journey.SCHEDULED').attributes['scheduler.step']) >= 1);
      const finished = event(core[0], 'journey.FINISHED').attributes;
      assert.equal(finished['finish.status'], 'length');
      assert.equal(finished['phase'], 'DECODE');
      assert.equal(finished['decode.done_tokens'], 5);
      assert.equal(finished['decode.max_tokens'], 5);
      assert.equal(finished['prefill.done_tokens'], finished['prefill.total_tokens']);
      assertJourneyOrder(api, core);
    }
  });

  it('continues the trace of a client traceparent, and records nothing when the client says not sampled', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const traced = await postJson(`${t.url}/v1/chat/completions`, CHAT, { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, tracestate: 'vendor=value' });
    const { api, core } = await spansOf(receiver, traced.requestId, 1);
    assert.equal(api.traceId, traceId);
    assert.equal(api.parentSpanId, '00f067aa0ba902b7');
    assert.equal(core[0].traceId, traceId);

    const unsampled = await postJson(`${t.url}/v1/chat/completions`, CHAT, { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-00` });
    assert.equal(unsampled.status, 200);
    // a later traced request through the same threads: once its spans are in, the other's would be too
    const later = await postJson(`${t.url}/v1/chat/completions`, CHAT);
    await spansOf(receiver, later.requestId, 1);
    assert.deepEqual(
      receiver.spans.filter((s) => s.attributes['gen_ai.request.id'] === unsampled.requestId),
      [],
    );
    assert.equal(receiver.spans.filter((s) => s.traceId === 'a'.repeat(32)).length, 0);
  });

  it('ignores a malformed traceparent and traces the request as a new root', async () => {
    const { requestId } = await postJson(`${t.url}/v1/chat/completions`, CHAT, { traceparent: 'not-a-traceparent' });
    const { api } = await spansOf(receiver, requestId, 1);
    assert.equal(api.parentSpanId, '');
  });

  it('gives n > 1 one core span per choice, every one a child of the one request span', async () => {
    const { requestId } = await postJson(`${t.url}/v1/chat/completions`, { ...CHAT, n: 3, seed: 1, temperature: 1 });
    const { api, core } = await spansOf(receiver, requestId, 3);
    assert.equal(core.length, 3);
    assert.deepEqual(
      core.map((s) => s.attributes['gen_ai.request.choice_index']),
      [0, 1, 2],
    );
    for (const c of core) assert.equal(c.parentSpanId, api.spanId);
    assertJourneyOrder(api, core);
    assert.deepEqual(api.attributes['gen_ai.response.finish_reasons'], ['length', 'length', 'length']);
  });

  it('gives several prompts one core span each', async () => {
    const { requestId } = await postJson(`${t.url}/v1/completions`, { model: MODEL, prompt: ['a', 'b'], max_tokens: 2 });
    const { core } = await spansOf(receiver, requestId, 2);
    assert.equal(core.length, 2);
  });

  it('puts trace_id and span_id on the log lines of traced requests', async () => {
    const { requestId } = await postJson(`${t.url}/v1/chat/completions`, CHAT);
    const { api } = await spansOf(receiver, requestId, 1);
    const line = logLines.map((l) => JSON.parse(l)).find((l) => l.requestId === requestId && l.msg === 'request');
    assert.ok(line, 'a log line for the request');
    assert.equal(line.trace_id, api.traceId);
    assert.equal(line.span_id, api.spanId);
  });
});

describe('journey tracing sample rate', () => {
  it('traces no request at rate 0 unless the client asks', async () => {
    const t = await startTracedServer(receiver, { tracing: { sampleRate: 0 } });
    try {
      const skipped = await postJson(`${t.url}/v1/chat/completions`, CHAT);
      const asked = await postJson(`${t.url}/v1/chat/completions`, CHAT, { traceparent: `00-${'c'.repeat(32)}-${'d'.repeat(16)}-01` });
      await spansOf(receiver, asked.requestId, 1);
      assert.equal(receiver.spans.filter((s) => s.attributes['gen_ai.request.id'] === skipped.requestId).length, 0);
    } finally {
      await t.close();
    }
  });
});
