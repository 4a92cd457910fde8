import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { RecordingObserver } from '../helpers/recording-observer.js';
import { post, startServer, type TestServer } from '../helpers/server.js';

const MODEL = 'dummy-tiny';
const LONG = { model: MODEL, messages: [{ role: 'user', content: 'go on forever' }], max_tokens: 1500, ignore_eos: true };

/** Sends `body` and returns the request and the response once its headers arrive (if they do). */
function open(url: string, body: unknown): { req: http.ClientRequest; response: Promise<http.IncomingMessage> } {
  const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' } });
  const response = new Promise<http.IncomingMessage>((resolve) => req.once('response', resolve));
  req.on('error', () => {}); // the test destroys it on purpose
  req.end(JSON.stringify(body));
  return { req, response };
}

describe('a client that disconnects', () => {
  let t: TestServer;
  let observer: RecordingObserver;
  before(async () => {
    observer = new RecordingObserver();
    t = await startServer({ observer });
  });
  after(() => t.close());

  /** After the drop, one more request through the only worker shows the abort has been applied. */
  async function assertEngineIdle(): Promise<void> {
    const { status } = await post(`${t.url}/v1/completions`, { model: MODEL, prompt: 'after', max_tokens: 1 });
    assert.equal(status, 200);
    const stats = t.server.engine.stats();
    assert.equal(stats.numRunning + stats.numWaiting, 0, 'no request left in the engine');
    assert.equal(stats.numFreeKvBlocks, stats.numKvBlocks, 'every KV block is free');
  }

  it('mid-stream aborts its engine request and frees its blocks', async () => {
    const { req, response } = open(`${t.url}/v1/chat/completions`, { ...LONG, stream: true });
    const res = await response;
    await new Promise<void>((resolve) => res.once('data', () => resolve())); // tokens are flowing
    req.destroy();
    const record = await observer.when('aborted:client_disconnect');
    assert.equal(record.reason, 'client_disconnect');
    await assertEngineIdle();
  });

  it('while a non-streaming request is generating aborts it too', async () => {
    const from = observer.requests.length;
    const { req } = open(`${t.url}/v1/chat/completions`, LONG);
    await observer.when('firstResponse', from); // generating, nothing sent yet
    req.destroy();
    const record = await observer.when('aborted', from);
    assert.equal(record.reason, 'client_disconnect');
    await assertEngineIdle();
  });
});
