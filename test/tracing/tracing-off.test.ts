import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseServerConfig, UsageError } from '../../lib/config.js';
import { createServer } from '../../lib/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Every module reachable from `entry` through static imports (dynamic import() is not followed). */
function staticImports(entry: string, seen = new Set<string>()): Set<string> {
  if (seen.has(entry)) return seen;
  seen.add(entry);
  if (!entry.startsWith('/')) return seen; // a package: recorded, not followed
  const source = readFileSync(entry, 'utf8');
  for (const match of source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm)) {
    const spec = match[1] ?? match[2];
    if (/^import\s+type\s/.test(match[0].trim()) || /^export\s+type\s/.test(match[0].trim())) continue;
    staticImports(spec.startsWith('.') ? resolve(dirname(entry), spec) : spec, seen);
  }
  return seen;
}

describe('with tracing off', () => {
  for (const entry of ['lib/server.js', 'workers/engine-worker.js', 'lib/index.js']) {
    it(`nothing ${entry} imports statically reaches OpenTelemetry`, () => {
      const reached = [...staticImports(resolve(ROOT, entry))];
      assert.ok(reached.length > 10, 'the walk found the module graph');
      assert.deepEqual(
        reached.filter((m) => m.includes('@opentelemetry') || m.includes('/lib/tracing/api-tracing') || m.includes('/lib/tracing/core-tracing')),
        [],
      );
    });
  }

  it('serves a request without loading the OpenTelemetry SDK or exporter', async () => {
    const script = `
      import { createRequire } from 'node:module';
      import { createServer } from ${JSON.stringify(resolve(ROOT, 'lib/index.js'))};
      const server = await createServer({ model: 'dummy-tiny', workers: 1, port: 0, logger: undefined });
      const { url } = await server.listen();
      const r = await fetch(url + '/v1/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'dummy-tiny', prompt: 'x', max_tokens: 2 }) });
      const status = r.status;
      await r.text();
      await server.close();
      // the no-op @opentelemetry/api package comes with prom-client (exemplars); the SDK, the
      // exporter and everything they pull in must stay out
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes('@opentelemetry') && !p.includes('@opentelemetry/api/'));
      process.stdout.write(JSON.stringify({ status, loaded }));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(out), { status: 200, loaded: [] });
  });

  it('a tracing-on server does load it, so the check above can fail', async () => {
    const script = `
      import { createRequire } from 'node:module';
      import { createServer } from ${JSON.stringify(resolve(ROOT, 'lib/index.js'))};
      const server = await createServer({ model: 'dummy-tiny', workers: 1, port: 0, tracing: { enabled: true, endpoint: 'http://127.0.0.1:9' } });
      await server.close();
      process.stdout.write(String(Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes('@opentelemetry/sdk-trace'))));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    await once(child, 'exit');
    assert.equal(out, 'true');
  });
});

describe('tracing settings', () => {
  it('refuse to start with tracing on and no endpoint anywhere', async () => {
    assert.throws(() => parseServerConfig(['--enable-journey-tracing'], {}), UsageError);
    await assert.rejects(createServer({ tracing: { enabled: true } }), /no OTLP endpoint/);
  });

  it('take the endpoint and service name from the standard OTEL variables', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', OTEL_SERVICE_NAME: 'svc' };
    const config = parseServerConfig(['--enable-journey-tracing', '--journey-tracing-sample-rate', '0.25'], env);
    assert.ok(typeof config === 'object');
    assert.deepEqual(config.tracing, { enabled: true, endpoint: 'http://collector:4317', sampleRate: 0.25, stepSampleRate: 0 });
    const traces = parseServerConfig(['--enable-journey-tracing'], { ...env, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4317' });
    assert.ok(typeof traces === 'object');
    assert.equal(traces.tracing.endpoint, 'http://traces:4317');
    assert.throws(() => parseServerConfig(['--journey-tracing-sample-rate', '2'], {}), UsageError);
    assert.throws(() => parseServerConfig(['--otlp-traces-endpoint', 'collector:4317'], {}), UsageError);
  });
});
