import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PoolEngine } from '../../lib/pool/pool-engine.js';
import { FAULTY_WORKER, injectFault, type FaultMode } from '../helpers/faults.js';
import { scrapeMetric } from '../../tools/metrics.js';
import { OtlpReceiver, type ReceivedSpan } from '../../tools/otlp-receiver.js';
import type { TestServer } from '../helpers/server.js';
import { event, eventNames, postJson, spansOf, startTracedServer } from '../helpers/tracing.js';

const MODEL = 'dummy-tiny';
// long enough that no stream can end between its first chunk and the fault (dummy-tiny decodes
// thousands of tokens a second, and its context is 2048)
const MAX_TOKENS = 2000;

interface Streamed {
  readonly requestId: string;
  /** Resolves with the whole body once the stream ends. */
  readonly rest: Promise<string>;
}

/** Starts a streamed completion and resolves once its first chunk has arrived. */
async function startStream(url: string, i: number): Promise<Streamed> {
  const response = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: `survivor ${i}`, max_tokens: MAX_TOKENS, ignore_eos: true, stream: true, stream_options: { include_usage: true } }),
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let body = decoder.decode((await reader.read()).value, { stream: true });
  const rest = (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) body += decoder.decode(r.value, { stream: true });
    return body;
  })();
  return { requestId: response.headers.get('x-request-id') as string, rest };
}

/** The usage chunk's completion tokens of a finished stream, or null if it did not finish. */
function completedTokens(body: string): number | null {
  if (!body.trimEnd().endsWith('data: [DONE]')) return null;
  const usage = body
    .split('\n\n')
    .filter((e) => e.startsWith('data: {'))
    .map((e) => JSON.parse(e.slice(6)) as { usage?: { completion_tokens: number }; error?: unknown })
    .find((chunk) => chunk.usage);
  return usage?.usage?.completion_tokens ?? null;
}

function terminal(api: ReceivedSpan): string {
  const ends = eventNames(api).filter((n) => n === 'api.DEPARTED' || n === 'api.ABORTED');
  assert.equal(ends.length, 1, 'exactly one terminal event');
  return ends[0] === 'api.DEPARTED' ? 'departed' : String(event(api, 'api.ABORTED').attributes['reason']);
}

let receiver: OtlpReceiver;
before(async () => (receiver = await OtlpReceiver.start()));
after(() => receiver.close());

describe('faults in the middle of a run', () => {
  let t: TestServer;
  before(async () => {
    t = await startTracedServer(receiver, { workers: 2, maxNumSeqs: 8, workerModule: FAULTY_WORKER, engineIterationTimeoutSeconds: 1 });
  });
  after(() => t.close());

  for (const [mode, worker] of [
    ['exit', 0],
    ['hang', 1],
  ] as [FaultMode, number][]) {
    it(`a worker that ${mode === 'exit' ? 'is killed' : 'hangs'} mid-batch fails only its own requests; the others finish whole, spans intact`, async () => {
      const engine = t.server.engine as PoolEngine;
      const generation = engine.workerStats()[worker].incarnation;
      const streams = await Promise.all(Array.from({ length: 6 }, (_, i) => startStream(t.url, i)));
      await injectFault(worker, mode);
      const bodies = await Promise.all(streams.map((s) => s.rest));
      let finished = 0;
      let failed = 0;
      for (const [i, body] of bodies.entries()) {
        const { api, core } = await spansOf(receiver, streams[i].requestId, completedTokens(body) === null ? 0 : 1);
        if (completedTokens(body) !== null) {
          finished++;
          assert.equal(completedTokens(body), MAX_TOKENS, 'every token of a finished stream arrived');
          assert.equal(terminal(api), 'departed');
          assert.equal(core[0].events.at(-1)?.name, 'journey.FINISHED');
          assert.equal(core[0].events.at(-1)?.attributes['finish.status'], 'length');
        } else {
          failed++;
          assert.match(body, /"code":"engine_failure"/);
          if (mode === 'hang') assert.match(body, /no engine step/);
          assert.equal(terminal(api), 'engine_failure');
        }
      }
      assert.ok(finished >= 1 && failed >= 1, `requests on both workers (${finished} finished, ${failed} failed)`);
      await engine.ready();
      assert.equal(engine.workerStats()[worker].incarnation, generation + 1, 'the worker was replaced');
      assert.equal((await postJson(`${t.url}/v1/completions`, { model: MODEL, prompt: 'again', max_tokens: 2 })).status, 200);
    });
  }

  it('a collector that restarts loses only spans of its downtime and reconnection; later spans arrive whole', async () => {
    const before = await postJson(`${t.url}/v1/completions`, { model: MODEL, prompt: 'before', max_tokens: 2 });
    await spansOf(receiver, before.requestId, 1);
    const port = receiver.port;
    await receiver.close();
    // requests keep succeeding while the exporters find the collector gone
    while ((await scrapeMetric(t.url, 'journey_tracing_spans_failed_total')) === 0) {
      assert.equal((await postJson(`${t.url}/v1/completions`, { model: MODEL, prompt: 'during', max_tokens: 2 })).status, 200);
    }
    receiver = await OtlpReceiver.start('accept', port);
    // spans exported while grpc-js waits out its reconnection backoff still fail; keep serving
    // until the exporters of both threads are through to the new receiver (each backs off on its
    // own schedule: one through says nothing of the other)
    const through = (name: string) => receiver.spans.some((s) => s.name === name);
    while (!through('llm_request') || !through('llm_core')) {
      assert.equal((await postJson(`${t.url}/v1/completions`, { model: MODEL, prompt: 'reconnecting', max_tokens: 2 })).status, 200);
    }
    const later = await postJson(`${t.url}/v1/completions`, { model: MODEL, prompt: 'after', max_tokens: 2 });
    assert.equal(later.status, 200);
    const { api, core } = await spansOf(receiver, later.requestId, 1);
    assert.equal(terminal(api), 'departed');
    assert.deepEqual(
      eventNames(core[0]).filter((n) => n === 'journey.QUEUED' || n === 'journey.FINISHED'),
      ['journey.QUEUED', 'journey.FINISHED'],
    );
  });
});
