import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../lib/util/logger.js';
import { RecordingObserver } from '../helpers/recording-observer.js';
import { post, startServer, type TestServer } from '../helpers/server.js';

const MODEL = 'dummy-tiny';

/** A raw connection that has sent `text`; resolves with what the server wrote before it closed the connection. */
function sendAndAwaitClose(port: number, text: string): { socket: net.Socket; closed: Promise<string> } {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => {});
  socket.write(text);
  return { socket, closed: new Promise((resolve) => socket.once('close', () => resolve(received))) };
}

describe('a server under hostile or careless clients', () => {
  let t: TestServer;
  let port: number;
  const observer = new RecordingObserver();
  const logLines: string[] = [];
  before(async () => {
    t = await startServer({
      observer,
      maxNumSeqs: 24,
      connectionLimits: { headersTimeoutSeconds: 1, bodyTimeoutSeconds: 1, streamStallTimeoutSeconds: 1, },
      logger: createLogger({ level: 'debug', write: (line) => logLines.push(line) }),
    });
    port = Number(new URL(t.url).port);
  });
  after(() => t.close());

  it('disconnects a streaming client that stops reading, ends its generation and frees its KV blocks', async () => {
    const from = observer.requests.length;
    // 24 choices of 2,000 tokens: several MB of events, more than the socket buffers hold unread
    const body = JSON.stringify({ model: MODEL, prompt: 'hi', max_tokens: 2000, n: 24, ignore_eos: true, stream: true });
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(`POST /v1/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    socket.pause(); // reads nothing from here on
    const record = await observer.when('aborted', from);
    assert.equal(record.reason, 'client_disconnect');
    assert.match(record.error ?? '', /stalled/);
    socket.destroy(); // paused, it would never see the server's FIN
    const { status } = await post(`${t.url}/v1/completions`, { model: MODEL, prompt: 'after', max_tokens: 1 });
    assert.equal(status, 200);
    const stats = t.server.engine.stats();
    assert.equal(stats.numRunning + stats.numWaiting, 0);
    assert.equal(stats.numFreeKvBlocks, stats.numKvBlocks, 'every KV block is free');
  });

  it('closes a connection whose headers never finish (slowloris) with 408', async () => {
    const { closed } = sendAndAwaitClose(port, 'POST /v1/completions HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ');
    assert.match(await closed, /^HTTP\/1\.1 408/);
  });

  it('closes a connection whose body never finishes with 408', async () => {
    const { closed } = sendAndAwaitClose(port, 'POST /v1/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"model":');
    assert.match(await closed, /^HTTP\/1\.1 408/);
  });

  it('refuses a compressed body with 415 rather than misreading it', async () => {
    const { status, json } = await post(`${t.url}/v1/completions`, { model: MODEL, prompt: 'x', max_tokens: 1 }, { 'content-encoding': 'gzip' });
    assert.equal(status, 415);
    assert.equal(json.error.code, 'unsupported_media_type');
  });

  it('refuses roles named after Object.prototype members as unknown roles', async () => {
    for (const role of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const { status, json } = await post(`${t.url}/v1/chat/completions`, { model: MODEL, messages: [{ role, content: 'x' }], max_tokens: 1 });
      assert.equal(status, 400, role);
      assert.equal(json.error.param, 'messages[0].role');
    }
  });

  it('samples greedily at a temperature too small to divide by', async () => {
    const ask = (temperature: number) => post(`${t.url}/v1/completions`, { model: MODEL, prompt: 'tiny', max_tokens: 8, temperature, seed: 3, ignore_eos: true });
    const greedy = await ask(0);
    for (const temperature of [1e-38, 5e-324, 1e-6]) {
      const tiny = await ask(temperature);
      assert.equal(tiny.status, 200);
      assert.equal(tiny.json.choices[0].text, greedy.json.choices[0].text, `temperature ${temperature}`);
      assert.equal(tiny.json.usage.completion_tokens, 8);
    }
  });

  it('refuses with 400 a request that needs more sequences at once than the server holds', async () => {
    const held = t.server.engine.maxRequestsHeld;
    const { status, json, headers } = await post(`${t.url}/v1/completions`, { model: MODEL, prompt: ['a', 'b'], n: Math.ceil(held / 2) + 1, max_tokens: 1 });
    assert.equal(status, 400);
    assert.equal(json.error.param, 'n');
    assert.match(json.error.message, new RegExp(`at most ${held}`));
    assert.equal(headers.get('retry-after'), null);
  });

  it('serves n = 16 without a MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const { status, json } = await post(`${t.url}/v1/completions`, { model: MODEL, prompt: 'x', n: 16, max_tokens: 2 });
      assert.equal(status, 200);
      assert.equal(json.choices.length, 16);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings.map((w) => w.name), []);
  });

  it('logs client mistakes below error, without stacks, and bounds what they quote', async () => {
    logLines.length = 0;
    const { closed } = sendAndAwaitClose(port, `TRACE /${'p'.repeat(5000)} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n`);
    assert.match(await closed, /^HTTP\/1\.1 (404|405|501)/);
    await post(`${t.url}/v1/completions`, { model: 'x'.repeat(100_000), prompt: 'x' });
    for (const line of logLines) {
      const entry = JSON.parse(line) as { level: string };
      assert.notEqual(entry.level, 'error', line.slice(0, 300));
      assert.ok(line.length < 2000, `a log line of ${line.length} characters`);
      assert.ok(!/\n\s+at /.test(line) && !line.includes('node_modules'), 'no stack trace');
    }
  });

  it('is still healthy after all of that', async () => {
    assert.equal((await fetch(`${t.url}/health`)).status, 200);
  });
});

describe('the connection cap', () => {
  let t: TestServer;
  before(async () => (t = await startServer({ connectionLimits: { maxConnections: 4 } })));
  after(() => t.close());

  it('closes connections beyond --max-connections as they arrive, and keeps serving the others', async () => {
    const held: net.Socket[] = [];
    for (let i = 0; i < 4; i++) {
      const socket = net.connect(Number(new URL(t.url).port), '127.0.0.1');
      socket.on('error', () => {});
      await new Promise((resolve) => socket.once('connect', resolve));
      held.push(socket);
    }
    // a request on a held connection answers once the server has accepted all 4
    const first = sendRequest(held[0]);
    assert.match(await first, /^HTTP\/1\.1 200/);
    const { closed } = sendAndAwaitClose(Number(new URL(t.url).port), 'GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    assert.equal(await closed, '', 'the 5th connection is closed unanswered');
    for (const socket of held) socket.destroy();
  });

});

function sendRequest(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.setEncoding('utf8');
    socket.once('data', (chunk: string) => resolve(chunk));
    socket.write('GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
  });
}
