import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { buildCheckpoint, checkpoint } from '../../tools/checkpoints.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { fuzzCase, sendAndCheck, type FuzzOptions, type Outcome } from '../../tools/request-fuzzer.js';

/** A few hundred cases in the normal suite; FUZZ_CASES=N runs N (thousands, for a soak). */
const CASES = Number(process.env.FUZZ_CASES ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 1);
const CONCURRENCY = 4;
/** No request may take longer than this on the tiny model, however it is malformed. */
const BOUND_MS = 30_000;

/**
 * Connections that pipeline requests and never read a byte of the answers, opened while the
 * fuzzed requests run: the server must close every one of them, and serve the others meanwhile.
 */
class NonReaders {
  private readonly sockets: { socket: net.Socket; closed: Promise<void> }[] = [];

  constructor(private readonly url: string) {}

  open(count: number): void {
    for (let i = 0; i < count; i++) {
      const socket = net.connect(Number(new URL(this.url).port), '127.0.0.1');
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('error', () => {});
      socket.pause(); // reads nothing
      socket.write('GET /v1/journeys?limit=1000 HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n'.repeat(64));
      this.sockets.push({ socket, closed });
    }
  }

  /** Every one was closed by the server (counted as such), and reading again finds its end. */
  async allClosed(): Promise<void> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const closed = Number(/^journey_connections_closed_total\{reason="pipelined"\} (\d+)/m.exec(text)?.[1] ?? 0);
    assert.ok(closed >= this.sockets.length, `${closed} of ${this.sockets.length} non-reading connections closed by the server`);
    for (const { socket } of this.sockets) socket.resume();
    await Promise.all(this.sockets.map((s) => s.closed));
  }
}

async function fuzz(context: TestContext, t: TestServer, model: string, cases: number, options: FuzzOptions = {}): Promise<Map<Outcome, number>> {
  const outcomes = new Map<Outcome, number>();
  const problems: string[] = [];
  let next = 0;
  const runner = async () => {
    while (next < cases) {
      const index = next++;
      const c = fuzzCase(SEED, index, model, options);
      const { outcome, problem } = await sendAndCheck(t.url, c, BOUND_MS);
      if (outcome) outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (problem) problems.push(`case ${index} (${c.route}; ${c.mutations.join('; ')}): ${problem}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, runner));
  context.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  assert.deepEqual(problems.slice(0, 10), [], `${problems.length} problems`);
  assert.equal((await fetch(`${t.url}/health`)).status, 200);
  // one request after them all passes through the only worker once every abort has been applied
  const after = await fetch(`${t.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, prompt: 'after', max_tokens: 1 }) });
  assert.equal(after.status, 200);
  const stats = t.server.engine.stats();
  assert.equal(stats.numRunning + stats.numWaiting, 0, 'no request left in the engine');
  assert.equal(stats.numFreeKvBlocks, stats.numKvBlocks, 'every KV block is free');
  assert.equal(t.server.numOpenSpans, 0);
  return outcomes;
}

describe(`${CASES} fuzzed requests (seed ${SEED}) over the three generation routes`, () => {
  const MODEL = 'dummy-tiny';
  let t: TestServer;
  before(async () => (t = await startServer({ maxNumSeqs: 8, maxRequestBodyBytes: 64 * 1024, connectionLimits: { streamStallTimeoutSeconds: 2 } })));
  after(() => t.close());

  it('get a well-formed answer in bounded time, never a 5xx but 503 and 504, and leave the server healthy, while clients that never read are closed', async (context) => {
    const nonReaders = new NonReaders(t.url);
    nonReaders.open(4);
    const outcomes = await fuzz(context, t, MODEL, CASES);
    assert.ok((outcomes.get('ok') ?? 0) > CASES / 10, 'enough cases were valid to exercise generation');
    assert.ok((outcomes.get('client_error') ?? 0) > CASES / 4, 'enough cases were refused to exercise validation');
    await nonReaders.allClosed();
  });
});

describe('fuzzed chat requests through a hostile chat template', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'journey-llm-fuzz-'));
  // spins on "spin", exhausts its heap on "grow", behaves otherwise
  const template =
    "{% for m in messages %}{% if m.content == 'spin' %}{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}{% elif m.content == 'grow' %}{% for i in range(10**9) %}{% endfor %}{% endif %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}<|im_start|>assistant\n";
  let t: TestServer;
  before(async () => {
    const file = buildCheckpoint({ ...checkpoint('qwen2-f32'), name: 'fuzz-template', chatTemplate: template }, dir).path;
    t = await startServer({ model: file, maxNumSeqs: 8, maxRequestBodyBytes: 64 * 1024, chatTemplateTimeoutSeconds: 0.3 });
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses what the template cannot render with a 400 in bounded time, and serves the rest', async (context) => {
    // mostly spinning (stopped at its time budget); growing until its heap is spent takes longer, so less often
    const contents = ['spin', 'hello', 'fuzz me', 'spin', 'again', 'more', 'grow', 'words'];
    const outcomes = await fuzz(context, t, 'fuzz-template.gguf', Math.max(30, Math.round(CASES / 10)), { contents });
    assert.ok((outcomes.get('client_error') ?? 0) > 0);
    assert.ok((outcomes.get('ok') ?? 0) > 0);
  });
});
