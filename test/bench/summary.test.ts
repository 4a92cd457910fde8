import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequestResult } from '../../bench/serve/stream-client.js';
import { distribution, percentile, summarize, tpotOf } from '../../bench/serve/summary.js';
import { makeWorkload } from '../../bench/serve/workload.js';

const result = (ttftMs: number, e2eMs: number, outputTokens: number, itlMs: number[] = []): RequestResult => ({
  ok: true,
  startMs: 0,
  ttftMs,
  itlMs,
  e2eMs,
  promptTokens: 10,
  outputTokens,
});

describe('serving statistics', () => {
  it('interpolates percentiles', () => {
    assert.equal(percentile([10, 20, 30, 40], 50), 25);
    assert.equal(percentile([10, 20, 30, 40], 100), 40);
    assert.deepEqual(distribution([1, 2, 3, 4, 100]), { mean: 22, p50: 3, p90: 61.6, p99: 96.16 });
  });

  it('computes TPOT over the tokens after the first', () => {
    assert.equal(tpotOf(result(100, 1000, 10)), 100);
    assert.equal(tpotOf(result(100, 100, 1)), null);
  });

  it('reports throughput, failures and goodput against targets', () => {
    const results = [result(100, 1000, 10, [50, 50]), result(300, 2100, 10), { ...result(0, 5, 0), ok: false, error: 'HTTP 503' }];
    const s = summarize(results, 2, { ttftMs: 200, tpotMs: 150 });
    assert.equal(s.completed, 2);
    assert.equal(s.failed, 1);
    assert.equal(s.firstError, 'HTTP 503');
    assert.equal(s.requestThroughput, 1);
    assert.equal(s.outputTokenThroughput, 10);
    assert.equal(s.totalTokenThroughput, 20);
    assert.equal(s.goodput, 0.5, 'only the first meets TTFT ≤ 200 ms');
    assert.equal(s.itlMs.p50, 50);
    assert.equal(summarize(results, 2).goodput, undefined);
  });
});

describe('workload', () => {
  it('is the same for the same seed, and fits the context', () => {
    const options = { dataset: 'mixed' as const, numPrompts: 50, inputLen: 64, outputLen: 32, rangeRatio: 0, seed: 4, maxModelLen: 128 };
    assert.deepEqual(makeWorkload(options), makeWorkload(options));
    assert.notDeepEqual(makeWorkload({ ...options, seed: 5 }), makeWorkload(options));
    for (const w of makeWorkload(options)) {
      assert.ok(w.prompt.length + w.maxTokens <= 127);
      assert.ok(w.maxTokens >= 1 && w.prompt.length >= 1);
    }
  });

  it('gives fixed lengths, or a spread around them', () => {
    const fixed = makeWorkload({ dataset: 'fixed', numPrompts: 10, inputLen: 20, outputLen: 8, rangeRatio: 0, seed: 1, maxModelLen: 4096 });
    assert.ok(fixed.every((w) => w.prompt.length === 20 && w.maxTokens === 8));
    const spread = makeWorkload({ dataset: 'fixed', numPrompts: 200, inputLen: 100, outputLen: 8, rangeRatio: 0.5, seed: 1, maxModelLen: 4096 });
    assert.ok(spread.every((w) => w.prompt.length >= 50 && w.prompt.length <= 150));
    assert.ok(new Set(spread.map((w) => w.prompt.length)).size > 20);
  });
});
