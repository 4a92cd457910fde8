import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SseParser } from '../../bench/serve/sse-parser.js';
import { streamCompletion } from '../../bench/serve/stream-client.js';
import { Rng } from '../../lib/util/rng.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** Feeds `text` to a parser in pieces cut at the given points. */
function parseIn(text: string, cuts: number[]): string[] {
  const p = new SseParser();
  const events: string[] = [];
  let at = 0;
  for (const cut of [...cuts, text.length]) {
    events.push(...p.push(text.slice(at, cut)));
    at = cut;
  }
  return events;
}

describe('SseParser', () => {
  const stream = 'data: {"a":1}\n\n: a comment\nevent: x\ndata: line one\ndata: line two\n\r\ndata:{"b":2}\r\n\r\ndata: [DONE]\n\n';
  const expected = ['{"a":1}', 'line one\nline two', '{"b":2}', '[DONE]'];

  it('returns the data of each event, joining multi-line data and skipping comments and other fields', () => {
    assert.deepEqual(parseIn(stream, []), expected);
  });

  it('gives the same events however the stream is cut', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 500; trial++) {
      const cuts = Array.from({ length: rng.nextUint32() % 8 }, () => rng.nextUint32() % stream.length).sort((a, b) => a - b);
      assert.deepEqual(parseIn(stream, cuts), expected, `cuts ${cuts}`);
    }
    for (let cut = 0; cut <= stream.length; cut++) assert.deepEqual(parseIn(stream, [cut]), expected, `cut ${cut}`);
  });

  it('drops an event the stream never closed', () => {
    const p = new SseParser();
    assert.deepEqual(p.push('data: half'), []);
    assert.deepEqual(p.end(), []);
  });
});

describe('streamCompletion against the server', () => {
  let t: TestServer;
  before(async () => (t = await startServer()));
  after(() => t.close());

  it('times a stream and counts its tokens from the usage chunk', async () => {
    const r = await streamCompletion(`${t.url}/v1/completions`, { model: 'dummy-tiny', prompt: [256, 65, 66, 67], max_tokens: 12, ignore_eos: true });
    assert.equal(r.ok, true);
    assert.equal(r.promptTokens, 4);
    assert.equal(r.outputTokens, 12);
    assert.ok(r.ttftMs > 0 && r.ttftMs <= r.e2eMs);
    assert.ok(r.itlMs.length >= 1 && r.itlMs.length <= 11, 'one gap per output chunk after the first');
    assert.ok(r.itlMs.every((g) => g >= 0));
  });

  it('reports a refused request as failed, with the server’s message', async () => {
    const r = await streamCompletion(`${t.url}/v1/completions`, { model: 'dummy-tiny', prompt: 'x', max_tokens: 99999 });
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /HTTP 400.*maximum context length/);
  });
});
