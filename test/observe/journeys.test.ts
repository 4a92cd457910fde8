import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OtlpReceiver, type ReceivedSpan } from '../../tools/otlp-receiver.js';
import { post, PREEMPTING_REQUEST, PREEMPTION_PRONE, startServer, type TestServer } from '../helpers/server.js';
import { postJson, spansOf, stamp, startTracedServer } from '../helpers/tracing.js';

const MODEL = 'dummy-tiny';

interface JourneyJson {
  id: string;
  state: string;
  ttft_ms: number | null;
  e2e_ms: number | null;
  events: { name: string; t_ms: number }[];
  choices: {
    index: number;
    finish_reason: string | null;
    completion_tokens: number;
    timings: Record<string, number | null>;
    events: { name: string; t_ms: number; kind?: string }[];
  }[];
}

/** Server-Timing as {name: dur}, plus desc values. */
function parseServerTiming(header: string | null): Record<string, string> {
  assert.ok(header, 'a Server-Timing header');
  return Object.fromEntries(
    header.split(',').map((metric) => {
      const [name, ...params] = metric.trim().split(';');
      const param = params.map((p) => p.trim().split('=')).find(([k]) => k === 'dur' || k === 'desc');
      return [name, (param?.[1] ?? '').replace(/"/g, '')];
    }),
  );
}

const finishedAt = (c: JourneyJson['choices'][number]) => c.events.find((e) => e.name === 'journey.FINISHED')?.t_ms ?? -1;
const slowestOf = (j: JourneyJson) => [...j.choices].sort((a, b) => finishedAt(b) - finishedAt(a))[0];

describe('per-request timings and the journey store', () => {
  let t: TestServer;
  before(async () => (t = await startServer({ journeyHistory: 50 })));
  after(() => t.close());

  const journey = async (id: string): Promise<JourneyJson> => {
    const response = await fetch(`${t.url}/v1/journeys/${encodeURIComponent(id)}`);
    assert.equal(response.status, 200);
    return (await response.json()) as JourneyJson;
  };

  it('puts Server-Timing on a non-streamed response: queue + prefill + decode ≤ total, each equal to the journey store', async () => {
    for (const body of [{ prompt: 'timing', max_tokens: 12, ignore_eos: true }, { prompt: ['a', 'b'], n: 2, max_tokens: 6, ignore_eos: true }]) {
      const r = await post(`${t.url}/v1/completions`, body);
      assert.equal(r.status, 200);
      const timing = parseServerTiming(r.headers.get('server-timing'));
      const [queue, prefill, decode, total] = ['queue', 'prefill', 'decode', 'total'].map((k) => Number(timing[k]));
      assert.ok(queue >= 0 && prefill >= 0 && decode >= 0);
      assert.ok(queue + prefill + decode <= total + 1e-3, `${queue} + ${prefill} + ${decode} ≤ ${total}`);
      assert.equal(timing.preemptions, '0');
      const j = await journey(r.headers.get('x-request-id') as string);
      assert.equal(j.choices.length, body.n ? 4 : 1, 'one entry per choice');
      const slowest = slowestOf(j);
      assert.equal(queue, slowest.timings.queue_ms);
      assert.equal(prefill, slowest.timings.prefill_ms);
      assert.equal(decode, slowest.timings.decode_ms);
      assert.ok(total <= (j.e2e_ms as number), 'headers go out before the last byte');
    }
  });

  it('gives the metrics object when asked, and in the last chunk of a stream, agreeing with the journey', async () => {
    const r = await post(`${t.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'metrics' }], max_tokens: 8, ignore_eos: true, include_metrics: true });
    const m = r.json.metrics;
    assert.equal(m.completion_tokens, 8);
    const j = await journey(r.headers.get('x-request-id') as string);
    const c = j.choices[0];
    assert.equal(m.queue_time_ms, c.timings.queue_ms);
    assert.equal(m.prefill_time_ms, c.timings.prefill_ms);
    assert.equal(m.decode_time_ms, c.timings.decode_ms);
    assert.equal(m.time_to_first_token_ms, c.timings.ttft_ms);
    assert.equal(m.generation_time_ms, c.timings.generation_ms);
    assert.equal(m.time_to_first_token_ms, j.ttft_ms, 'one choice: its TTFT is the request’s');
    assert.ok(Math.abs(m.mean_itl_ms - (c.timings.decode_ms as number) / 7) < 1e-3);
    const plain = await post(`${t.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'metrics' }], max_tokens: 2 });
    assert.equal(plain.json.metrics, undefined, 'off unless asked (or --enable-per-request-metrics)');

    const stream = await fetch(`${t.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'stream metrics', max_tokens: 5, n: 2, ignore_eos: true, stream: true, include_metrics: true }),
    });
    const events = (await stream.text()).split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)));
    const last = events.at(-1);
    assert.ok(last.metrics, 'the last chunk carries the metrics');
    assert.equal(last.metrics.choices.length, 2, 'one entry per choice');
    const sj = await journey(stream.headers.get('x-request-id') as string);
    for (const entry of last.metrics.choices) assert.equal(entry.decode_time_ms, sj.choices[entry.index].timings.decode_ms);
  });

  it('answers an unknown journey with 404 in the OpenAI error shape, and refuses bad filters', async () => {
    const response = await fetch(`${t.url}/v1/journeys/no-such-request`);
    assert.equal(response.status, 404);
    const { error } = (await response.json()) as { error: { message: string; type: string; code: string } };
    assert.equal(error.code, 'journey_not_found');
    assert.equal(error.type, 'invalid_request_error');
    assert.equal((await fetch(`${t.url}/v1/journeys?limit=0`)).status, 400);
    assert.equal((await fetch(`${t.url}/v1/journeys?min_e2e_ms=abc`)).status, 400);
  });

  it('lists newest first and filters by finish reason and latency', async () => {
    const a = await post(`${t.url}/v1/completions`, { prompt: 'first', max_tokens: 2, ignore_eos: true });
    const b = await post(`${t.url}/v1/completions`, { prompt: 'second', max_tokens: 3, ignore_eos: true });
    const list = (await (await fetch(`${t.url}/v1/journeys?limit=2`)).json()) as { data: JourneyJson[] };
    assert.deepEqual(list.data.map((j) => j.id), [b.headers.get('x-request-id'), a.headers.get('x-request-id')]);
    const lengths = (await (await fetch(`${t.url}/v1/journeys?finish_reason=length&limit=50`)).json()) as { data: JourneyJson[] };
    assert.ok(lengths.data.length > 0 && lengths.data.every((j) => j.choices.some((c) => c.finish_reason === 'length')));
    const slow = (await (await fetch(`${t.url}/v1/journeys?min_e2e_ms=1000000`)).json()) as { data: JourneyJson[] };
    assert.deepEqual(slow.data, []);
  });
});

describe('a bounded journey store', () => {
  it('keeps the last N and forgets the oldest', async () => {
    const t = await startServer({ journeyHistory: 3 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await post(`${t.url}/v1/completions`, { prompt: `r${i}`, max_tokens: 1 })).headers.get('x-request-id') as string);
      const list = (await (await fetch(`${t.url}/v1/journeys?limit=3`)).json()) as { data: JourneyJson[] };
      assert.deepEqual(list.data.map((j) => j.id), ids.slice(2).reverse());
      assert.equal((await fetch(`${t.url}/v1/journeys/${ids[0]}`)).status, 404, 'the oldest is forgotten');
      assert.equal(t.server.journeys.size, 3);
      assert.equal((await fetch(`${t.url}/v1/journeys?limit=4`)).status, 400, 'no more than it keeps');
    } finally {
      await t.close();
    }
  });

  it('keeps none with a history of 0', async () => {
    const t = await startServer({ journeyHistory: 0 });
    try {
      await post(`${t.url}/v1/completions`, { prompt: 'x', max_tokens: 1 });
      assert.equal((await fetch(`${t.url}/v1/journeys`)).status, 404);
      assert.equal(t.server.journeys.size, 0);
    } finally {
      await t.close();
    }
  });
});

let receiver: OtlpReceiver;
before(async () => (receiver = await OtlpReceiver.start()));
after(() => receiver.close());

describe('journeys, traced', () => {
  it('shows a preempted request’s PREEMPTED and RESUME, with the same stamps as its spans', async () => {
    const t = await startTracedServer(receiver, PREEMPTION_PRONE);
    try {
      const body = { model: MODEL, ...PREEMPTING_REQUEST };
      const results = await Promise.all([postJson(`${t.url}/v1/completions`, body), postJson(`${t.url}/v1/completions`, body)]);
      const journeys = await Promise.all(results.map(async (r) => (await (await fetch(`${t.url}/v1/journeys/${r.requestId}`)).json()) as JourneyJson & { trace_id: string }));
      const victim = journeys.find((j) => j.choices[0].events.some((e) => e.name === 'journey.PREEMPTED'));
      assert.ok(victim, 'one was preempted');
      const names = victim.choices[0].events.map((e) => (e.kind ? `${e.name}(${e.kind})` : e.name));
      assert.ok(names.indexOf('journey.SCHEDULED(RESUME)') > names.indexOf('journey.PREEMPTED'));
      assert.equal(victim.choices[0].timings.num_preemptions, 1);
      assert.ok((victim.choices[0].timings.preempted_ms as number) > 0);
      // the journey and the trace are the same stamps
      const { api, core } = await spansOf(receiver, victim.id, 1);
      assert.equal(victim.trace_id, api.traceId);
      const ms = (ns: number) => Math.round((ns - stamp(api, 'api.ARRIVED')) / 1e3) / 1e3;
      assert.equal(victim.choices[0].events.find((e) => e.name === 'journey.PREEMPTED')?.t_ms, ms(stamp(core[0], 'journey.PREEMPTED')));
      assert.equal(victim.choices[0].events.find((e) => e.name === 'journey.FIRST_TOKEN')?.t_ms, ms(stamp(core[0], 'journey.FIRST_TOKEN')));
      assert.equal(victim.ttft_ms, ms(stamp(api, 'api.FIRST_RESPONSE_FROM_CORE')));
      assert.equal(victim.e2e_ms, ms(stamp(api, 'api.DEPARTED')));
    } finally {
      await t.close();
    }
  });

  it('samples engine steps as llm_step spans linked to the core spans of the requests in their batch', async () => {
    const t = await startTracedServer(receiver, { tracing: { stepSampleRate: 1 } });
    try {
      const results = await Promise.all([0, 1, 2].map((i) => postJson(`${t.url}/v1/completions`, { model: MODEL, prompt: `step ${i}`, max_tokens: 4, ignore_eos: true })));
      const cores = (await Promise.all(results.map((r) => spansOf(receiver, r.requestId, 1)))).map((s) => s.core[0]);
      const coreById = new Map(cores.map((c) => [c.spanId, c]));
      // 4 tokens each: a prefill step and three decode steps, every one of them sampled
      const stepsOf = (all: readonly ReceivedSpan[], core: ReceivedSpan) => all.filter((s) => s.name === 'llm_step' && s.links.some((l) => l.spanId === core.spanId));
      const all = await receiver.waitFor((spans) => cores.every((core) => stepsOf(spans, core).length >= 4));
      const linked = all.filter((s) => s.name === 'llm_step' && s.links.some((l) => coreById.has(l.spanId)));
      for (const step of linked) {
        assert.equal(step.scope, 'journey.scheduler');
        assert.equal(step.parentSpanId, '', 'a root span of its own');
        const a = step.attributes;
        assert.equal(a['batch.num_seqs'], Number(a['batch.num_prefill_seqs']) + Number(a['batch.num_decode_seqs']));
        assert.ok(step.links.length <= Number(a['batch.num_seqs']));
        for (const key of ['step.schedule_ms', 'step.forward_ms', 'step.sample_ms', 'step.output_ms', 'kv.blocks_used', 'kv.blocks_free', 'scheduler.step']) assert.equal(typeof a[key], 'number', key);
        for (const link of step.links) {
          const core = coreById.get(link.spanId);
          if (!core) continue;
          assert.equal(link.traceId, core.traceId);
          assert.equal(link.attributes['gen_ai.request.id'], core.attributes['gen_ai.request.id'], 'the link names its request');
          // the step ran while that request's core span was open (the SDK anchors span times to
          // Date.now(), whole milliseconds, so two spans' clocks may differ by up to 1 ms)
          const slack = 1_000_000n;
          assert.ok(step.startTimeUnixNano >= core.startTimeUnixNano - slack && step.startTimeUnixNano <= core.endTimeUnixNano + slack, `${step.startTimeUnixNano} vs ${core.startTimeUnixNano}..${core.endTimeUnixNano}`);
        }
      }
    } finally {
      await t.close();
    }
  });

  it('emits the current GenAI names beside the contract’s', async () => {
    const t = await startTracedServer(receiver);
    try {
      const r = await postJson(`${t.url}/v1/chat/completions`, { model: MODEL, messages: [{ role: 'user', content: 'names' }], max_tokens: 2, top_k: 5, n: 2, presence_penalty: 0.5 });
      const { api } = await spansOf(receiver, r.requestId, 2);
      assert.equal(api.attributes['gen_ai.provider.name'], 'journey-llm');
      assert.equal(api.attributes['gen_ai.request.choice.count'], 2);
      assert.equal(api.attributes['gen_ai.request.n'], 2, 'the contract’s name stays');
      assert.equal(api.attributes['gen_ai.request.top_k'], 5);
      assert.equal(api.attributes['gen_ai.request.presence_penalty'], 0.5);
      assert.equal(api.attributes['gen_ai.response.id'], r.json.id);
    } finally {
      await t.close();
    }
  });
});
