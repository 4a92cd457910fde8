import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createServer } from '../../lib/api/create-server.js';
import { parseServerConfig, UsageError } from '../../lib/config.js';
import { createLogger } from '../../lib/util/logger.js';
import { post, startServer, type TestServer } from '../helpers/server.js';

const KEY = 'sk-rules';
const BASIC = `Basic ${Buffer.from(`anyone:${KEY}`).toString('base64')}`;

/** One raw request with the Host header given as is; the status line's code. */
async function statusWithHost(port: number, host: string): Promise<number> {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.write(`GET /health HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`);
  await new Promise((resolve) => socket.once('close', resolve));
  return Number(/^HTTP\/1\.1 (\d+)/.exec(received)?.[1]);
}

describe('who may call, from where', () => {
  let t: TestServer;
  before(async () => (t = await startServer({ apiKey: KEY, traceUrlTemplate: "http://trace.example/$&/$'/$`/{trace_id}" })));
  after(() => t.close());

  it('refuses any origin together with credentials, on the command line and in createServer, before starting anything', async () => {
    assert.throws(() => parseServerConfig(['--allowed-origins', '*', '--allow-credentials']), (err: unknown) => err instanceof UsageError && /any origin/.test(err.message));
    await assert.rejects(
      createServer({ cors: { allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: [], allowCredentials: true }, logger: createLogger({ level: 'silent' }) }),
      (err: unknown) => err instanceof RangeError && /any origin/.test(err.message),
    );
  });

  it('takes Basic credentials on the viewer’s pages only, never on the API', async () => {
    for (const [method, path] of [['GET', '/v1/journeys'], ['GET', '/v1/models'], ['POST', '/v1/chat/completions'], ['POST', '/tokenize']] as const) {
      const response = await fetch(`${t.url}${path}`, { method, headers: { authorization: BASIC, 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{}' } : {}) });
      assert.equal(response.status, 401, `${method} ${path}`);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer');
    }
    assert.equal((await fetch(`${t.url}/journeys`, { headers: { authorization: BASIC } })).status, 200);
    assert.equal((await fetch(`${t.url}/journeys/data`, { headers: { authorization: BASIC } })).status, 200);
    const challenge = await fetch(`${t.url}/journeys/data`);
    assert.equal(challenge.status, 401);
    assert.match(challenge.headers.get('www-authenticate') ?? '', /^Basic/);
  });

  it('answers no Host that only begins with a loopback name', async () => {
    const port = Number(new URL(t.url).port);
    assert.equal(await statusWithHost(port, `127.0.0.1:${port}`), 200);
    assert.equal(await statusWithHost(port, `[::1]:${port}`), 200);
    for (const host of ['[::1]evil.example', '[::1]:80x', 'localhost:80:80', '[::1]@evil.example']) assert.equal(await statusWithHost(port, host), 403, host);
  });

  it('puts a trace URL template with $ patterns into the viewer page as written', async () => {
    const html = await (await fetch(`${t.url}/journeys`, { headers: { authorization: BASIC } })).text();
    assert.ok(html.includes('const TRACE_URL_TEMPLATE = "http://trace.example/$&/$\'/$`/{trace_id}";'), 'the template, verbatim');
    assert.ok(!html.includes('__TRACE_URL_TEMPLATE__'));
  });

  it('refuses, by name, message fields it does not serve instead of ignoring them', async () => {
    const auth = { authorization: `Bearer ${KEY}` };
    const ask = (message: Record<string, unknown>) => post(`${t.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'x' }, message], max_tokens: 1 }, auth);
    for (const [field, value] of [['name', 'alice'], ['tool_calls', [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }]], ['tool_call_id', 'c1']] as const) {
      const r = await ask({ role: 'assistant', content: 'y', [field]: value });
      assert.equal(r.status, 400, field);
      assert.equal(r.json.error.param, `messages[1].${field}`);
      assert.equal(r.json.error.code, 'unsupported_parameter');
    }
    const unknown = await ask({ role: 'user', content: 'y', colour: 'blue' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.json.error.code, 'unknown_parameter');
    // what the openai client echoes back of an assistant message asks for nothing
    const echoed = await ask({ role: 'assistant', content: 'y', refusal: null, tool_calls: [], annotations: [] });
    assert.equal(echoed.status, 200);
  });
});
