import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { createEngine, createPoolEngine, type PoolEngine } from '../../lib/index.js';
import { collect } from '../helpers/collect.js';
import { FAULTY_WORKER, injectFault } from '../helpers/faults.js';

const PROMPTS = ['alpha', 'a somewhat longer prompt than the first', 'x'.repeat(300), 'four'];
const PARAMS = [
  { temperature: 0, maxTokens: 16, ignoreEos: true },
  { temperature: 0.9, topP: 0.8, seed: 17, maxTokens: 16, ignoreEos: true },
  { temperature: 1, topK: 5, seed: 3, maxTokens: 24 },
  { temperature: 0, maxTokens: 1 },
];

describe('engine client (worker pool)', () => {
  let client: PoolEngine;
  before(async () => {
    // a step of the tiny model takes milliseconds: a second without one is a hang
    client = await createPoolEngine({ model: 'dummy-tiny', workers: 2, workerModule: FAULTY_WORKER, engineIterationTimeoutSeconds: 1 });
  });
  after(() => client.close());

  it('gives the same outputs as the in-process engine, with two workers serving at once', async () => {
    const local = await createEngine({ model: 'dummy-tiny' });
    try {
      const expected = await Promise.all(PROMPTS.map((p, i) => collect(local.generate(p, PARAMS[i]))));
      const streams = PROMPTS.map((p, i) => client.generate(p, PARAMS[i]));
      assert.deepEqual(new Set(streams.map((s) => s.workerIndex)), new Set([0, 1]), 'both workers got requests');
      assert.deepEqual(await Promise.all(streams.map(collect)), expected);
    } finally {
      await local.close();
    }
  });

  it('frees every KV block in the worker when a request is aborted through the ring', async () => {
    const controller = new AbortController();
    const stream = client.generate('to be aborted', { maxTokens: 1500, ignoreEos: true }, { signal: controller.signal });
    await assert.rejects(
      (async () => {
        let n = 0;
        for await (const delta of stream) if ((n += delta.tokenIds.length) >= 3) controller.abort();
      })(),
      { name: 'AbortError' },
    );
    // a request on the same worker afterwards passes its turn only once the abort has been applied
    const worker = stream.workerIndex as number;
    let follow = client.generate('after', { maxTokens: 2 });
    while (follow.workerIndex !== worker) {
      await collect(follow);
      follow = client.generate('after', { maxTokens: 2 });
    }
    await collect(follow);
    const stats = client.workerStats()[worker];
    assert.equal(stats.numRunning + stats.numWaiting, 0);
    assert.equal(stats.numFreeKvBlocks, stats.numKvBlocks);
  });

  for (const mode of ['throw', 'exit', 'uncaught', 'hang'] as const) {
    it(`fails only the ${mode === 'hang' ? 'hung' : 'crashed'} worker's requests (${mode}), replaces it, and serves again`, async () => {
      const streams = [0, 1, 2, 3].map((i) => client.generate(`load ${i}`, { maxTokens: 400, ignoreEos: true }));
      const iterators = streams.map((s) => s[Symbol.asyncIterator]());
      await Promise.all(iterators.map((it) => it.next())); // every request is in flight
      const before = client.workerStats()[0].incarnation;
      await injectFault(0, mode);
      const results = await Promise.allSettled(iterators.map(async (it) => ({ tokens: 1 + (await drain(it)) })));
      results.forEach((result, i) => {
        if (streams[i].workerIndex === 0) {
          assert.equal(result.status, 'rejected');
          assert.equal((result as PromiseRejectedResult).reason.code, 'engine_failure');
          if (mode === 'hang') assert.match((result as PromiseRejectedResult).reason.message, /no engine step for/);
        } else {
          assert.deepEqual(result, { status: 'fulfilled', value: { tokens: 400 } });
        }
      });
      await client.ready();
      assert.equal(client.workerStats()[0].incarnation, before + 1);
      const again = [0, 1].map((i) => client.generate(`again ${i}`, { maxTokens: 3, ignoreEos: true }));
      assert.deepEqual(new Set(again.map((s) => s.workerIndex)), new Set([0, 1]));
      for (const out of await Promise.all(again.map(collect))) assert.equal(out.finishReason, 'length');
    });
  }

  it('refuses new requests with an overloaded error when every worker is at its limit', async () => {
    const small = await createPoolEngine({ model: 'dummy-tiny', workers: 1, maxPendingPerWorker: 2 });
    try {
      const held = [small.generate('a', { maxTokens: 50 }), small.generate('b', { maxTokens: 50 })];
      assert.throws(() => small.generate('c'), { name: 'EngineOverloadedError', status: 503 });
      await Promise.all(held.map(collect));
      await collect(small.generate('d', { maxTokens: 1 }));
    } finally {
      await small.close();
    }
  });

  it('validates requests on the calling thread before they reach a worker', () => {
    assert.throws(() => client.generate('x', { maxTokens: 100_000 }), { name: 'ContextLengthExceededError' });
    assert.throws(() => client.generate([999]), { name: 'InvalidRequestError' });
  });
});

describe('engine client shutdown', () => {
  it('ends requests in flight with a shutdown error, refuses new ones, and lets the process exit', async () => {
    const child = spawn(process.execPath, [new URL('../helpers/shutdown-child.js', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(stdout), { outcomes: ['server_shutdown', 'server_shutdown', 'server_shutdown', 'server_shutdown'], generateAfterClose: 'server_shutdown' });
  });

  it('lets requests in flight finish within the grace period', async () => {
    const client = await createPoolEngine({ model: 'dummy-tiny', workers: 1 });
    const pending = collect(client.generate('short', { maxTokens: 20, ignoreEos: true }));
    await client.close({ gracePeriodMs: 60_000 });
    assert.equal((await pending).finishReason, 'length');
  });
});

async function drain(iterator: AsyncIterator<{ tokenIds: readonly number[] }>): Promise<number> {
  let n = 0;
  for (let r = await iterator.next(); !r.done; r = await iterator.next()) n += r.value.tokenIds.length;
  return n;
}
