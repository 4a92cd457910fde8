import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEngine, type Engine, type LifecycleEvent } from '../../lib/index.js';
import { collect } from '../helpers/collect.js';

const PROMPTS = ['Hi', 'The quick brown fox jumps over the lazy dog', 'a'.repeat(150), 'Once upon a time'];

for (const kernels of ['wasm', 'gpujs', 'reference'] as const) {
  describe(`engine on ${kernels} kernels`, () => {
    let engine: Engine;
    before(async () => {
      engine = await createEngine({ model: 'dummy-tiny', kernels, maxNumBatchedTokens: 64 });
    });
    after(() => engine.close());

    it('gives the same text for the same seed, and another for another seed', async () => {
      const params = { temperature: 1, seed: 1234, maxTokens: 24, ignoreEos: true };
      const a = await collect(engine.generate('Tell me a story', params));
      const b = await collect(engine.generate('Tell me a story', params));
      const c = await collect(engine.generate('Tell me a story', { ...params, seed: 99 }));
      assert.equal(a.tokenIds.length, 24);
      assert.equal(a.finishReason, 'length');
      assert.deepEqual(b, a);
      assert.notDeepEqual(c.tokenIds, a.tokenIds);
    });

    it('gives a request the same output alone as batched with others of different lengths', async () => {
      const greedy = { temperature: 0, maxTokens: 20, ignoreEos: true };
      const seeded = { temperature: 0.8, topP: 0.9, seed: 5, maxTokens: 20, ignoreEos: true };
      const alone = [];
      for (const prompt of PROMPTS) alone.push(await collect(engine.generate(prompt, greedy)));
      const aloneSeeded = await collect(engine.generate(PROMPTS[1], seeded));
      // all at once: prompts of 3 to 151 tokens share steps, the long one split into chunks
      const batched = await Promise.all([...PROMPTS.map((p) => collect(engine.generate(p, greedy))), collect(engine.generate(PROMPTS[1], seeded))]);
      assert.deepEqual(batched.slice(0, PROMPTS.length), alone);
      assert.deepEqual(batched[PROMPTS.length], aloneSeeded);
    });

    it('stops at a stop token and reports why', async () => {
      const free = await collect(engine.generate('xyz', { temperature: 0, maxTokens: 8, ignoreEos: true }));
      const stopAt = free.tokenIds[3];
      const stopped = await collect(engine.generate('xyz', { temperature: 0, maxTokens: 8, stopTokenIds: [stopAt], ignoreEos: true }));
      assert.equal(stopped.finishReason, 'stop');
      assert.deepEqual(stopped.tokenIds, free.tokenIds.slice(0, free.tokenIds.indexOf(stopAt) + 1));
    });

    it('frees every block when a request is aborted, through its signal or by breaking off', async () => {
      const controller = new AbortController();
      const stream = engine.generate('abort me', { maxTokens: 500, ignoreEos: true }, { signal: controller.signal });
      let seen = 0;
      await assert.rejects(
        (async () => {
          for await (const delta of stream) {
            seen += delta.tokenIds.length;
            if (seen === 3) controller.abort();
          }
        })(),
        { name: 'AbortError' },
      );
      assert.equal(seen, 3);
      for await (const _ of engine.generate('break off', { maxTokens: 500, ignoreEos: true })) break;
      // one more request through the loop makes sure the aborts have been applied
      await collect(engine.generate('x', { maxTokens: 1 }));
      const stats = engine.stats();
      assert.equal(stats.numRunning + stats.numWaiting, 0);
      assert.equal(stats.numFreeKvBlocks, stats.numKvBlocks);
    });

    it('refuses an already aborted signal, bad parameters and prompts that do not fit', () => {
      assert.throws(() => engine.generate('x', {}, { signal: AbortSignal.abort() }), { name: 'AbortError' });
      assert.throws(() => engine.generate('x', { temperature: -1 }), { name: 'InvalidRequestError', param: 'temperature' });
      assert.throws(() => engine.generate([], {}), { name: 'InvalidRequestError', param: 'prompt' });
      assert.throws(() => engine.generate([300], {}), { name: 'InvalidRequestError', param: 'prompt' });
      assert.throws(() => engine.generate('x', { maxTokens: 5000 }), { name: 'ContextLengthExceededError', code: 'context_length_exceeded' });
    });
  });
}

describe('engine lifecycle hooks', () => {
  it('reports queued, scheduled, first token and finished, in order, with the step and progress', async () => {
    const events: LifecycleEvent[] = [];
    const engine = await createEngine({ model: 'dummy-tiny', kernels: 'reference', onLifecycle: (e) => events.push(e) });
    try {
      const out = await collect(engine.generate('hello', { maxTokens: 4, ignoreEos: true }, { requestId: 'r1' }));
      assert.equal(out.finishReason, 'length');
    } finally {
      await engine.close();
    }
    assert.deepEqual(
      events.map((e) => [e.type, e.step, e.phase, e.prefillDoneTokens, e.decodeDoneTokens, e.scheduleKind, e.finishStatus]),
      [
        ['QUEUED', 0, 'WAITING', 0, 0, undefined, undefined],
        ['SCHEDULED', 1, 'PREFILL', 0, 0, 'FIRST', undefined],
        ['FIRST_TOKEN', 1, 'DECODE', 6, 1, undefined, undefined],
        ['FINISHED', 4, 'DECODE', 6, 4, undefined, 'length'],
      ],
    );
    for (const e of events) {
      assert.equal(e.requestId, 'r1');
      assert.equal(e.prefillTotalTokens, 6);
      assert.equal(e.decodeMaxTokens, 4);
      assert.equal(e.numPreemptions, 0);
    }
    const stamps = events.map((e) => e.tsNs);
    assert.deepEqual([...stamps].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), stamps);
  });

  it('reports preemption and resume under a tiny KV cache, keeping the prefill high-water mark', async () => {
    const events: LifecycleEvent[] = [];
    // 8 blocks of 4 tokens: two 13-token sequences growing to 29 tokens cannot both fit
    const engine = await createEngine({
      model: 'dummy-tiny',
      kernels: 'reference',
      blockSize: 4,
      kvCacheTokens: 32,
      maxModelLen: 32,
      enablePrefixCaching: false,
      onLifecycle: (e) => events.push(e),
    });
    try {
      const params = { temperature: 0, maxTokens: 16, ignoreEos: true };
      const alone = await collect(engine.generate('twelve bytes', params, { requestId: 'alone' }));
      const both = await Promise.all(['a', 'b'].map((id) => collect(engine.generate('twelve bytes', params, { requestId: id }))));
      // recompute after preemption reproduces exactly what an undisturbed run gives
      assert.deepEqual(both, [alone, alone]);
      assert.equal(engine.stats().numFreeKvBlocks, 8);
    } finally {
      await engine.close();
    }
    const preempted = events.filter((e) => e.type === 'PREEMPTED');
    assert.ok(preempted.length >= 1, 'someone was preempted');
    const victim = preempted[0].requestId;
    const mine = events.filter((e) => e.requestId === victim).map((e) => `${e.type}${e.scheduleKind ? `(${e.scheduleKind})` : ''}`);
    assert.deepEqual(mine.slice(0, 3), ['QUEUED', 'SCHEDULED(FIRST)', 'FIRST_TOKEN']);
    assert.equal(mine.at(-1), 'FINISHED');
    assert.equal(mine.filter((t) => t === 'FIRST_TOKEN').length, 1, 'FIRST_TOKEN exactly once');
    const resume = events.find((e) => e.requestId === victim && e.scheduleKind === 'RESUME');
    assert.ok(resume, 'resumed');
    assert.equal(resume.prefillDoneTokens, 13, 'the prefill high-water mark survives preemption');
    assert.equal(resume.numPreemptions, 1);
    assert.ok(resume.step > preempted[0].step);
    const finished = events.filter((e) => e.type === 'FINISHED' && e.requestId === victim);
    assert.equal(finished[0].decodeDoneTokens, 16);
  });
});

describe('engine shutdown', () => {
  it('fails requests still in flight with a shutdown error and refuses new ones', async () => {
    const engine = await createEngine({ model: 'dummy-tiny', kernels: 'reference' });
    const stream = engine.generate('long', { maxTokens: 1000, ignoreEos: true });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    await engine.close();
    await assert.rejects(collectRest(iterator), { name: 'EngineFailureError', code: 'server_shutdown' });
    assert.throws(() => engine.generate('x'), { name: 'EngineFailureError' });
  });

  it('lets requests in flight finish within the grace period', async () => {
    const engine = await createEngine({ model: 'dummy-tiny', kernels: 'reference' });
    const pending = collect(engine.generate('short', { maxTokens: 5, ignoreEos: true }));
    await engine.close({ gracePeriodMs: 60_000 });
    assert.equal((await pending).finishReason, 'length');
  });
});

async function collectRest(iterator: AsyncIterator<unknown>): Promise<void> {
  while (!(await iterator.next()).done);
}
