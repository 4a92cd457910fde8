import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseServerConfig, UsageError } from '../lib/config.js';
import { loadNativeAddon } from '../lib/backends/native/native-addon.js';

const SERVER = new URL('../lib/server.js', import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [SERVER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const [code] = await once(child, 'exit');
  return { code, stdout, stderr };
}

interface Started {
  readonly url: string;
  readonly model: string;
  readonly workers: number;
  readonly threadsPerWorker: number;
  readonly kernels: string;
}

/** Starts the server on a free port; resolves once it logs that it listens. */
async function startChild(extra: string[] = []) {
  const child = spawn(process.execPath, [SERVER, '--port', '0', '--model', 'dummy-tiny', '--workers', '1', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stderr.on('data', (c: Buffer) => {
    stderr += c;
    for (const w of waiters.filter((w) => stderr.includes(w.text))) w.resolve();
  });
  const logged = (text: string) => new Promise<void>((resolve) => (stderr.includes(text) ? resolve() : waiters.push({ text, resolve })));
  await logged('journey-llm listening');
  const started = JSON.parse(stderr.split('\n').find((l) => l.includes('journey-llm listening')) as string) as Started;
  return { child, started, stderr: () => stderr, logged };
}

/** Starts a streamed chat completion of `maxTokens` tokens; resolves once its first bytes arrive. */
async function startStream(url: string, maxTokens: number): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'dummy-tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: maxTokens, ignore_eos: true, stream: true }),
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  return reader;
}

async function readRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  let body = '';
  for (let r = await reader.read(); !r.done; r = await reader.read()) body += new TextDecoder().decode(r.value);
  return body;
}

describe('command line', () => {
  for (const [args, pattern] of [
    [['--bogus'], /bogus/],
    [['--port', 'abc'], /--port/],
    [['--port', '70000'], /--port/],
    [['--workers', '0'], /--workers/],
    [['--threads-per-worker', '0'], /--threads-per-worker/],
    [['--threads-per-worker', '2', '--kernels', 'reference'], /--threads-per-worker above 1 needs kernels that run a thread team \(native, wasm\)/],
    [['--model', 'gpt-9'], /unknown model/],
    [['--kernels', 'cuda'], /--kernels/],
    [['--log-level', 'loud'], /--log-level/],
    [['--max-request-body', 'lots'], /--max-request-body/],
    [['--max-model-len', '999999', '--model', 'dummy-tiny'], /--max-model-len/],
    [['stray-positional'], /positional/i],
    [['--headers-timeout', '30', '--body-timeout', '10'], /--headers-timeout/],
    [['--allowed-hosts', ' , '], /--allowed-hosts/],
    [['--max-connections', '-1'], /--max-connections/],
    [['--metrics-api-key', ''], /--metrics-api-key/],
  ] as [string[], RegExp][]) {
    it(`exits with status 2 and says why for ${args.join(' ')}`, async () => {
      const { code, stderr } = await run(args);
      assert.equal(code, 2);
      assert.match(stderr, pattern);
      assert.ok(!/\n\s+at /.test(stderr), 'a message, not a stack trace');
    });
  }

  it('refuses a model file that is not GGUF with one line naming it, and exit status 1', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'journey-llm-cli-')), 'broken.gguf');
    writeFileSync(file, 'GGUF but not really');
    const { code, stderr } = await run(['--model', file]);
    assert.equal(code, 1);
    assert.equal(stderr.trim().split('\n').length, 1);
    assert.match(stderr, /broken\.gguf .*(too short|truncated)/);
    rmSync(path.dirname(file), { recursive: true });
  });

  it('prints its options with --help and exits 0', async () => {
    const { code, stdout } = await run(['--help']);
    assert.equal(code, 0);
    for (const flag of ['--host', '--port', '--model', '--served-model-name', '--workers', '--threads-per-worker', '--max-num-seqs', '--max-num-batched-tokens', '--max-model-len', '--kernels', '--api-key', '--max-request-body', '--request-timeout', '--seed', '--log-level']) {
      assert.ok(stdout.includes(flag), flag);
    }
  });

  it('takes negative numbers, several served names, list flags and --version', async () => {
    const config = parseServerConfig(['--seed', '-1', '--served-model-name', 'a', 'b', '--port', '0', '--allowed-origins', '["https://app.example"]']);
    assert.ok(typeof config === 'object');
    assert.equal(config.seed, -1);
    assert.deepEqual(config.servedModelName, ['a', 'b']);
    assert.deepEqual(config.cors?.allowedOrigins, ['https://app.example']);
    const repeated = parseServerConfig(['--served-model-name', 'x', '--served-model-name', 'y']);
    assert.ok(typeof repeated === 'object');
    assert.deepEqual(repeated.servedModelName, ['x', 'y']);
    assert.throws(() => parseServerConfig(['--allowed-methods', 'GET']), /--allowed-origins/);
    const { code, stdout } = await run(['--version']);
    assert.equal(code, 0);
    assert.match(stdout, /^journey-llm \d+\.\d+\.\d+\n$/);
  });

  it('exits non-zero within seconds, with one line, when its port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const started = performance.now();
      const { code, stderr } = await run(['--port', String(port), '--model', 'dummy-tiny', '--workers', '1']);
      assert.equal(code, 1);
      assert.match(stderr, /address is already in use/);
      assert.equal(stderr.trim().split('\n').filter((l) => !l.startsWith('{')).length, 1, 'one line besides the JSON log');
      assert.ok(!/\n\s+at /.test(stderr), 'no stack trace');
      assert.ok(performance.now() - started < 20_000);
    } finally {
      blocker.close();
    }
  });

  it('takes the API key from JOURNEY_API_KEY and sizes from suffixed values', () => {
    const config = parseServerConfig(['--max-request-body', '512kb'], { JOURNEY_API_KEY: 'sk-env' });
    assert.ok(typeof config === 'object');
    assert.equal(config.apiKey, 'sk-env');
    assert.equal(config.maxRequestBodyBytes, 512 * 1024);
    assert.throws(() => parseServerConfig(['--api-key', '']), UsageError);
  });

  it('warns at start when the engine threads outnumber the cores', async () => {
    const { child, stderr } = await startChild(['--threads-per-worker', String(os.availableParallelism() + 1)]);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
    const warning = stderr()
      .split('\n')
      .find((l) => l.includes('more engine threads than cores'));
    assert.ok(warning, 'a warning names the oversubscription');
    assert.equal(JSON.parse(warning).threadsPerWorker, os.availableParallelism() + 1);
  });

  it('serves, logs one line on start, and on SIGTERM finishes the request in flight and exits 0', async () => {
    const { child, started, stderr } = await startChild();
    assert.equal(started.model, 'dummy-tiny');
    assert.equal(started.workers, 1);
    assert.equal(started.threadsPerWorker, Math.min(8, os.availableParallelism()), 'one engine on every core, by default');
    const best = loadNativeAddon().addon?.cpu().best ?? 'none';
    assert.equal(started.kernels, best === 'none' ? 'wasm' : `native ${best}`, 'auto picks the native kernels for this CPU on a machine without a GPU (else WebAssembly SIMD)');
    const reader = await startStream(started.url, 300);
    child.kill('SIGTERM');
    const body = await readRest(reader);
    assert.ok(body.includes('"finish_reason":"length"'), 'the request in flight finished');
    assert.ok(body.trimEnd().endsWith('data: [DONE]'));
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.match(stderr(), /"msg":"stopped"/);
  });

  it('ends the grace period on a second SIGTERM: the request in flight is told, and the server exits 0', async () => {
    const { child, started, stderr, logged } = await startChild(['--shutdown-grace', '3600']);
    const reader = await startStream(started.url, 1900);
    child.kill('SIGTERM');
    await logged('shutting down');
    child.kill('SIGTERM');
    const body = await readRest(reader);
    assert.match(body, /"code":"server_shutdown"/);
    assert.ok(!body.includes('"finish_reason":"length"'), 'cut short, not finished');
    assert.ok(body.trimEnd().endsWith('data: [DONE]'));
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.match(stderr(), /ending the grace period/);
  });
});
