import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { PoolEngine } from '../../lib/pool/pool-engine.js';
import { FAULTY_WORKER, injectFault } from '../helpers/faults.js';
import { OtlpReceiver, type ReceivedSpan } from '../../tools/otlp-receiver.js';
import { RecordingObserver } from '../helpers/recording-observer.js';
import { PREEMPTING_REQUEST, PREEMPTION_PRONE, type TestServer } from '../helpers/server.js';
import { event, eventNames, postJson, spansOf, startTracedServer } from '../helpers/tracing.js';

const MODEL = 'dummy-tiny';
const LONG = { model: MODEL, prompt: 'keep going', max_tokens: 1900, ignore_eos: true };

/** Opens a request and leaves it to the test to end. */
function open(url: string, body: unknown): { req: http.ClientRequest; response: Promise<http.IncomingMessage> } {
  const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' } });
  const response = new Promise<http.IncomingMessage>((resolve) => req.once('response', resolve));
  req.on('error', () => {});
  req.end(JSON.stringify(body));
  return { req, response };
}

const firstData = (res: http.IncomingMessage) => new Promise<void>((resolve) => res.once('data', () => resolve()));
const readAll = (res: http.IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = '';
    res.on('data', (c: Buffer) => (body += c));
    res.on('end', () => resolve(body));
    res.on('close', () => resolve(body));
  });

function assertAborted(api: ReceivedSpan, reason: string): void {
  assert.deepEqual(eventNames(api).filter((n) => n === 'api.DEPARTED' || n === 'api.ABORTED'), ['api.ABORTED'], 'exactly one terminal event');
  assert.equal(event(api, 'api.ABORTED').attributes['reason'], reason);
  assert.equal(api.status.code, 'STATUS_CODE_ERROR');
  assert.ok(api.status.message.length > 0);
}

function assertCoreFinished(core: ReceivedSpan, status: string): void {
  const finished = core.events.filter((e) => e.name === 'journey.FINISHED');
  assert.equal(finished.length, 1, 'exactly one FINISHED');
  assert.equal(finished[0].attributes['finish.status'], status);
  assert.equal(core.events.at(-1)?.name, 'journey.FINISHED', 'FINISHED is the last event');
}

let receiver: OtlpReceiver;
before(async () => (receiver = await OtlpReceiver.start()));
after(() => receiver.close());

describe('every lifecycle path ends both spans exactly once', () => {
  let t: TestServer;
  const observer = new RecordingObserver();
  before(async () => {
    t = await startTracedServer(receiver, { maxNumBatchedTokens: 32, maxNumSeqs: 8, workerModule: FAULTY_WORKER, observer });
  });
  after(() => t.close());

  it('success, streamed and not', async () => {
    for (const stream of [false, true]) {
      const response = await fetch(`${t.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt: 'ok', max_tokens: 3, stream }) });
      await response.text();
      const { api, core } = await spansOf(receiver, response.headers.get('x-request-id') as string, 1);
      assert.equal(eventNames(api).at(-1), 'api.DEPARTED');
      assert.ok(!eventNames(api).includes('api.ABORTED'));
      assertCoreFinished(core[0], 'length');
    }
  });

  it('validation error and context length exceeded: the API span aborts, no core span is made', async () => {
    for (const [body, reason] of [
      [{ model: MODEL, prompt: 'x', temperature: -1 }, 'validation_error'],
      [{ model: MODEL, prompt: 'x', max_tokens: 9999 }, 'context_length_exceeded'],
      ['{"broken json', 'validation_error'],
    ] as const) {
      const response = await fetch(`${t.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
      assert.equal(response.status, 400);
      const { api, core } = await spansOf(receiver, response.headers.get('x-request-id') as string, 0);
      assertAborted(api, reason);
      assert.equal(core.length, 0);
      assert.ok(eventNames(api).includes('api.ARRIVED'), 'the span exists from arrival, before validation');
    }
  });

  it('bounds what a client sent before it reaches a span: a 900 kB model name', async () => {
    const huge = 'm'.repeat(900_000); // under the 1 MiB body limit
    const response = await fetch(`${t.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: huge, prompt: 'x' }) });
    assert.equal(response.status, 404);
    const { error } = (await response.json()) as { error: { message: string } };
    assert.ok(error.message.length < 1000, `the error message is bounded (${error.message.length})`);
    const { api } = await spansOf(receiver, response.headers.get('x-request-id') as string, 0);
    assertAborted(api, 'validation_error');
    const strings = [api.status.message, ...Object.values(api.attributes), ...api.events.flatMap((e) => Object.values(e.attributes))].filter((v): v is string => typeof v === 'string');
    for (const value of strings) assert.ok(value.length < 1000, `a span string of ${value.length} characters`);
    assert.match(String(api.attributes['gen_ai.request.model']), /900000 characters/, 'the original length is noted');
  });

  for (const when of ['before the first token', 'during streaming', 'while a non-streaming request generates'] as const) {
    it(`client disconnect ${when}: both spans end, the engine stops`, async () => {
      const from = observer.requests.length;
      const streaming = when !== 'while a non-streaming request generates';
      // a long prompt at 32 tokens a step keeps the first token dozens of steps away
      const prompt = when === 'before the first token' ? 'p'.repeat(1500) : 'short';
      const { req, response } = open(`${t.url}/v1/completions`, { ...LONG, prompt, max_tokens: 1900 - prompt.length, stream: streaming });
      if (when === 'before the first token') await observer.when('handedOff', from);
      else if (streaming) await firstData(await response);
      else await observer.when('firstResponse', from);
      req.destroy();
      const record = await observer.when('aborted', from);
      const { api, core } = await spansOf(receiver, record.requestId, 1);
      assertAborted(api, 'client_disconnect');
      assertCoreFinished(core[0], 'aborted');
      if (when === 'before the first token') {
        assert.ok(!eventNames(core[0]).includes('journey.FIRST_TOKEN'));
        assert.ok(!eventNames(api).includes('api.FIRST_RESPONSE_FROM_CORE'));
      }
    });
  }

  it('engine error for one request: generation_error on the API span, error on the core span', async () => {
    await injectFault(0, 'fail-step');
    const { status, json, requestId } = await postJson(`${t.url}/v1/completions`, { model: MODEL, prompt: 'fail', max_tokens: 3 });
    assert.equal(status, 500);
    assert.equal(json.error.code, 'generation_error');
    const { api, core } = await spansOf(receiver, requestId, 1);
    assertAborted(api, 'generation_error');
    assertCoreFinished(core[0], 'error');
  });

  it('worker crash: engine_failure on the API span; the worker ends its core span before it goes', async () => {
    const from = observer.requests.length;
    const { req, response } = open(`${t.url}/v1/completions`, { ...LONG, stream: true });
    const res = await response;
    await firstData(res);
    await injectFault(0, 'throw');
    const body = await readAll(res);
    req.destroy();
    assert.match(body, /engine_failure/);
    const record = await observer.when('aborted', from);
    const { api, core } = await spansOf(receiver, record.requestId, 1);
    assertAborted(api, 'engine_failure');
    assertCoreFinished(core[0], 'error');
    await (t.server.engine as PoolEngine).ready();
  });

  it('leaves no span open on any thread and every KV block free after the mixed run', async () => {
    // one more request through the worker: by the time it completes, earlier aborts are applied
    await postJson(`${t.url}/v1/completions`, { model: MODEL, prompt: 'last', max_tokens: 1 });
    assert.equal(t.server.numOpenSpans, 0, 'API thread');
    for (const w of (t.server.engine as PoolEngine).workerStats()) {
      assert.equal(w.tracing.openSpans, 0, `engine worker ${w.index}`);
      assert.equal(w.numFreeKvBlocks, w.numKvBlocks);
      assert.equal(w.numRunning + w.numWaiting, 0);
    }
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    for (const line of metrics.split('\n').filter((l) => l.startsWith('journey_tracing_open_spans{'))) assert.match(line, / 0$/);
  });

  it('server shutdown with a request in flight: server_shutdown on the API span, aborted on the core span', async () => {
    const from = observer.requests.length;
    const { req, response } = open(`${t.url}/v1/completions`, { ...LONG, stream: true });
    const res = await response;
    await firstData(res);
    const body = readAll(res);
    await t.server.close();
    assert.match(await body, /server_shutdown/);
    req.destroy();
    const record = await observer.when('aborted', from);
    const { api, core } = await spansOf(receiver, record.requestId, 1);
    assertAborted(api, 'server_shutdown');
    assertCoreFinished(core[0], 'aborted');
  });
});

describe('request timeout', () => {
  it('records timeout on the API span and aborts the engine request', async () => {
    // 50 ms against 1,900 tokens: far past the limit on any machine
    const observer = new RecordingObserver();
    const t = await startTracedServer(receiver, { requestTimeoutSeconds: 0.05, observer });
    try {
      const { req, response } = open(`${t.url}/v1/completions`, { ...LONG, stream: true });
      const body = await readAll(await response);
      req.destroy();
      assert.match(body, /request_timeout/);
      assert.match(body, /data: \[DONE\]/);
      const record = await observer.when('aborted');
      assert.equal(record.reason, 'timeout');
      const { api, core } = await spansOf(receiver, record.requestId, 1);
      assertAborted(api, 'timeout');
      assertCoreFinished(core[0], 'aborted');
    } finally {
      await t.close();
    }
  });
});

describe('queue full', () => {
  it('records overloaded on the API span and answers 503', async () => {
    const t = await startTracedServer(receiver, { maxPendingPerWorker: 1 });
    try {
      const { req, response } = open(`${t.url}/v1/completions`, { ...LONG, max_tokens: 300, stream: true });
      await firstData(await response);
      const refused = await postJson(`${t.url}/v1/completions`, { model: MODEL, prompt: 'x' });
      assert.equal(refused.status, 503);
      const { api, core } = await spansOf(receiver, refused.requestId, 0);
      assertAborted(api, 'overloaded');
      assert.equal(core.length, 0);
      req.destroy();
    } finally {
      await t.close();
    }
  });
});

describe('preemption', () => {
  it('shows PREEMPTED, then SCHEDULED(RESUME) with the prefill high-water mark kept', async () => {
    const t = await startTracedServer(receiver, PREEMPTION_PRONE);
    try {
      const body = { model: MODEL, ...PREEMPTING_REQUEST };
      const results = await Promise.all([postJson(`${t.url}/v1/completions`, body), postJson(`${t.url}/v1/completions`, body)]);
      for (const r of results) assert.equal(r.status, 200);
      const all = await Promise.all(results.map((r) => spansOf(receiver, r.requestId, 1)));
      const victim = all.map((s) => s.core[0]).find((c) => eventNames(c).includes('journey.PREEMPTED'));
      assert.ok(victim, 'one of them was preempted');
      const names = eventNames(victim);
      const preempted = names.indexOf('journey.PREEMPTED');
      const resumed = victim.events.findIndex((e) => e.attributes['schedule.kind'] === 'RESUME');
      assert.ok(preempted > 0 && resumed > preempted, 'RESUME after PREEMPTED');
      assert.equal(names.filter((n) => n === 'journey.FIRST_TOKEN').length, 1, 'FIRST_TOKEN once');
      const before = event(victim, 'journey.PREEMPTED').attributes;
      const after = victim.events[resumed].attributes;
      assert.equal(after['prefill.done_tokens'], before['prefill.done_tokens'], 'the high-water mark survives');
      assert.equal(after['prefill.done_tokens'], after['prefill.total_tokens']);
      assert.equal(after['num_preemptions'], 1);
      assert.ok(Number(after['scheduler.step']) > Number(before['scheduler.step']));
      assertCoreFinished(victim, 'length');
      const metrics = await (await fetch(`${t.url}/metrics`)).text();
      assert.match(metrics, /journey_num_preemptions_total [1-9]/);
    } finally {
      await t.close();
    }
  });
});
