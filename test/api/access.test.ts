import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';

const MODEL = 'dummy-tiny';
const KEY = 'sk-access-test';

interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** Sends the request line and headers exactly as given: fetch() would normalise the path. */
function raw(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const completion = JSON.stringify({ model: MODEL, prompt: 'hi', max_tokens: 1 });
const chat = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });

describe('the API key guards every route that serves model output or data, however the path is spelt', () => {
  let t: TestServer;
  before(async () => (t = await startServer({ apiKey: KEY, metricsApiKey: 'sk-metrics' })));
  after(() => t.close());

  const protectedRoutes: [string, string, string | undefined][] = [
    ['GET', '/v1/models', undefined],
    ['POST', '/v1/completions', completion],
    ['POST', '/v1/chat/completions', chat],
  ];
  const spellings = (path: string): string[] => [
    path,
    path.toUpperCase(),
    path.replace('/v1/', '/V1/'),
    path.replace('/v1/', '/%76%31/'),
    path.replace('/v1/', '/v1%2F').replace(/^\/v1%2F/, '/v1%2f'),
    path.replace('/v1/', '/v1%2F'),
    `/${path}`,
    path.replace('/v1/', '/v1//'),
    `${path}/`,
    `/x/..${path}`,
    `/v1/../${path.slice(1)}`,
    `${path}?x=1`,
  ];

  for (const [method, path, body] of protectedRoutes) {
    it(`${method} ${path}: no spelling answers without the key`, async () => {
      for (const spelt of spellings(path)) {
        const response = await raw(t.url, method, spelt, {}, body);
        assert.ok(response.status === 401 || response.status === 404, `${method} ${spelt} answered ${response.status} without a key`);
        const error = JSON.parse(response.body).error;
        assert.equal(typeof error.message, 'string', `${spelt}: OpenAI error shape`);
      }
    });

    it(`${method} ${path}: served with the key`, async () => {
      const response = await raw(t.url, method, path, { authorization: `Bearer ${KEY}` }, body);
      assert.equal(response.status, 200);
    });
  }

  it('a wrong key, a key without "Bearer" and an empty header are all 401', async () => {
    for (const authorization of [`Bearer ${KEY}x`, KEY, '', 'Bearer ', `Basic ${KEY}`]) {
      const response = await raw(t.url, 'GET', '/v1/models', { authorization });
      assert.equal(response.status, 401, JSON.stringify(authorization));
      assert.equal(JSON.parse(response.body).error.code, 'invalid_api_key');
    }
  });

  it('/health and /version stay open; /metrics takes its own key', async () => {
    assert.equal((await raw(t.url, 'GET', '/health')).status, 200);
    assert.equal((await raw(t.url, 'GET', '/version')).status, 200);
    assert.equal((await raw(t.url, 'GET', '/metrics')).status, 401);
    assert.equal((await raw(t.url, 'GET', '/metrics', { authorization: `Bearer ${KEY}` })).status, 401, 'the API key is not the metrics key');
    const metrics = await raw(t.url, 'GET', '/metrics', { authorization: 'Bearer sk-metrics' });
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /journey_requests_finished_total/);
  });
});

describe('the Host header of a loopback server', () => {
  let t: TestServer;
  before(async () => (t = await startServer()));
  after(() => t.close());

  it('answers loopback names, with or without a port', async () => {
    const port = new URL(t.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `[::1]:${port}`, '127.0.0.1']) {
      assert.equal((await raw(t.url, 'GET', '/v1/models', { host })).status, 200, host);
    }
  });

  it('refuses other names (DNS rebinding) with 403 invalid_host', async () => {
    for (const host of ['attacker.example', 'attacker.example:8000', 'localhost.attacker.example', '127.0.0.1.nip.io']) {
      const response = await raw(t.url, 'POST', '/v1/completions', { host }, completion);
      assert.equal(response.status, 403, host);
      assert.equal(JSON.parse(response.body).error.code, 'invalid_host');
    }
  });

  it('answers the names --allowed-hosts adds', async () => {
    const named = await startServer({ allowedHosts: ['llm.internal'] });
    try {
      assert.equal((await raw(named.url, 'GET', '/v1/models', { host: 'llm.internal:8000' })).status, 200);
      assert.equal((await raw(named.url, 'GET', '/v1/models', { host: 'other.internal' })).status, 403);
    } finally {
      await named.close();
    }
  });
});
