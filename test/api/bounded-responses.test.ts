import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../lib/util/logger.js';
import { post, startServer, type TestServer } from '../helpers/server.js';

const MODEL = 'dummy-tiny';

interface Page {
  data: { id: string; choices: unknown[] }[];
  has_more: boolean;
  next_cursor: string | null;
}

/** Resolves with the first log line that matches `pattern`, from the lines `lines` will receive. */
function lineMatching(waiters: { pattern: RegExp; resolve: (line: string) => void }[], pattern: RegExp): Promise<string> {
  return new Promise((resolve) => waiters.push({ pattern, resolve }));
}

function metricValue(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('responses outside the generation routes are bounded, and so is what a connection holds', () => {
  let t: TestServer;
  let port: number;
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  before(async () => {
    t = await startServer({
      maxNumSeqs: 32,
      connectionLimits: { streamStallTimeoutSeconds: 1 },
      logger: createLogger({
        level: 'info',
        write: (line) => {
          // each line settles one waiter at most
          const at = waiters.findIndex((w) => w.pattern.test(line));
          if (at >= 0) waiters.splice(at, 1)[0].resolve(line);
        },
      }),
    });
    port = Number(new URL(t.url).port);
    // 80 requests of 32 choices: a list of all of them is more than a megabyte of JSON
    for (let i = 0; i < 80; i++) assert.equal((await post(`${t.url}/v1/completions`, { model: MODEL, prompt: `fill ${i}`, n: 32, max_tokens: 1 })).status, 200);
  });
  after(() => t.close());

  it('pages /v1/journeys by bytes, with a cursor that gives every journey once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await fetch(`${t.url}/v1/journeys?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(response.status, 200);
      const text = await response.text();
      const page = JSON.parse(text) as Page;
      assert.ok(text.length <= (1 << 20) + 64 * 1024, `a page of ${text.length} bytes`);
      seen.push(...page.data.map((j) => j.id));
      cursor = page.has_more ? page.next_cursor : null;
      pages++;
    } while (cursor !== null);
    assert.ok(pages > 1, 'the journeys did not fit one page');
    assert.equal(seen.length, 80);
    assert.equal(new Set(seen).size, 80, 'no journey twice');
  });

  it('closes a connection that pipelines requests and never reads the answers; the server stays up, its memory bounded', async () => {
    const closed = lineMatching(waiters, /pipelined more than/);
    const rssBefore = process.memoryUsage().rss;
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause(); // reads nothing
    socket.write('GET /v1/journeys?limit=1000 HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n'.repeat(1000));
    await closed;
    const grown = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    assert.ok(grown < 256, `RSS grew by ${grown.toFixed(0)} MiB`);
    const ended = new Promise((resolve) => socket.once('close', resolve));
    socket.resume();
    await ended;
    assert.equal((await fetch(`${t.url}/health`)).status, 200);
    assert.equal(metricValue(await (await fetch(`${t.url}/metrics`)).text(), 'journey_connections_closed_total', 'reason="pipelined"'), 1);
  });

  it('closes connections whose clients never read, after the stall timeout, with only part of what they asked for sent', async () => {
    // 16 pipelined tokenizations of 1 MB each answer about 64 MB: more than the kernel buffers of a
    // loopback connection hold, so the rest waits in the server until the guard gives up on it
    const body = JSON.stringify({ model: MODEL, prompt: 'x'.repeat(1_000_000) });
    const request = `POST /tokenize HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
    const numSockets = 3;
    const cut = Array.from({ length: numSockets }, () => lineMatching(waiters, /"route":"\/tokenize","status":499/));
    const sockets = Array.from({ length: numSockets }, () => {
      const socket = net.connect(port, '127.0.0.1');
      const ended = new Promise((resolve) => socket.once('close', resolve));
      socket.on('error', () => {});
      socket.pause();
      socket.write(request.repeat(16));
      return { socket, ended };
    });
    await Promise.all(cut); // each connection had a response cut short by the server
    for (const { socket, ended } of sockets) {
      let answers = 0;
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => (answers += (chunk.match(/HTTP\/1\.1 200/g) ?? []).length));
      socket.resume();
      await ended;
      assert.ok(answers < 16, `the connection was closed before every answer was sent (${answers} of 16 begun)`);
    }
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    assert.ok(metricValue(metrics, 'journey_connections_closed_total', 'reason="stalled"') >= numSockets, 'counted as stalled');
    assert.equal((await fetch(`${t.url}/health`)).status, 200);
  });
});
