import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Sampler } from '../../lib/engine/sampler.js';
import { resolveSamplingParams, type SamplingParamsInput } from '../../lib/engine/sampling-params.js';
import { Rng } from '../../lib/util/rng.js';

const softmax = (logits: number[], temperature: number) => {
  const max = Math.max(...logits.map((l) => l / temperature));
  const e = logits.map((l) => Math.exp(l / temperature - max));
  const sum = e.reduce((a, b) => a + b);
  return Float32Array.from(e.map((x) => x / sum));
};

function draw(logits: number[], input: SamplingParamsInput, seed: number, count: number): number[] {
  const params = resolveSamplingParams(input);
  const sampler = new Sampler(logits.length);
  const rng = new Rng(seed);
  const row = Float32Array.from(logits);
  const probs = softmax(logits, params.temperature || 1);
  return Array.from({ length: count }, () => sampler.sample(row, probs, params, rng));
}

const LOGITS = [0.1, 2.0, -1.0, 1.5, 0.3, 2.0, -3.0, 0.9];

describe('Sampler', () => {
  it('is greedy at temperature 0, lowest id winning a tie', () => {
    assert.deepEqual(draw(LOGITS, { temperature: 0 }, 1, 5), [1, 1, 1, 1, 1]);
  });

  it('draws the same tokens from the same seed, and different ones from another', () => {
    const a = draw(LOGITS, { temperature: 1 }, 42, 50);
    assert.deepEqual(draw(LOGITS, { temperature: 1 }, 42, 50), a);
    assert.notDeepEqual(draw(LOGITS, { temperature: 1 }, 43, 50), a);
  });

  it('draws in proportion to the probabilities', () => {
    const counts = new Array(LOGITS.length).fill(0);
    for (const t of draw(LOGITS, { temperature: 1 }, 5, 20000)) counts[t]++;
    const probs = softmax(LOGITS, 1);
    counts.forEach((c, i) => assert.ok(Math.abs(c / 20000 - probs[i]) < 0.015, `token ${i}: ${c / 20000} vs ${probs[i]}`));
  });

  it('keeps only the top-k tokens', () => {
    const seen = new Set(draw(LOGITS, { temperature: 1, topK: 2 }, 9, 500));
    assert.deepEqual([...seen].sort(), [1, 5]);
  });

  it('keeps the smallest set reaching top-p, including the token that crosses it', () => {
    const probs = softmax(LOGITS, 1); // sorted: 1 and 5 (≈0.29 each), then 3 (≈0.18)
    const p = probs[1] + probs[5] + probs[3] / 2;
    const seen = new Set(draw(LOGITS, { temperature: 1, topP: p }, 9, 2000));
    assert.deepEqual([...seen].sort(), [1, 3, 5]);
    assert.deepEqual([...new Set(draw(LOGITS, { temperature: 1, topP: 0.01 }, 9, 200))], [1]);
  });

  it('sharpens with low temperature', () => {
    // at temperature 0.05 everything but the two tied top tokens has about 2e-5 of the mass
    const tokens = draw(LOGITS, { temperature: 0.05 }, 3, 1000);
    assert.ok(tokens.filter((t) => t !== 1 && t !== 5).length <= 2);
    assert.ok(tokens.filter((t) => t === 1).length > 400 && tokens.filter((t) => t === 5).length > 400);
  });
});

describe('resolveSamplingParams', () => {
  it('fills defaults', () => {
    assert.deepEqual(resolveSamplingParams(), {
      temperature: 1,
      topP: 1,
      topK: 0,
      seed: null,
      maxTokens: null,
      stopTokenIds: [],
      ignoreEos: false,
      stop: [],
    });
  });

  it('accepts top_k -1 as off', () => {
    assert.equal(resolveSamplingParams({ topK: -1 }).topK, 0);
  });

  for (const [input, param] of [
    [{ temperature: -1 }, 'temperature'],
    [{ temperature: Number.NaN }, 'temperature'],
    [{ topP: 0 }, 'top_p'],
    [{ topP: 1.5 }, 'top_p'],
    [{ topK: 1.5 }, 'top_k'],
    [{ maxTokens: 0 }, 'max_tokens'],
    [{ maxTokens: -3 }, 'max_tokens'],
    [{ seed: 0.5 }, 'seed'],
    [{ stopTokenIds: [999] }, 'stop_token_ids'],
    [{ stop: [''] }, 'stop'],
    [{ stop: Array.from({ length: 17 }, (_, i) => String(i)) }, 'stop'],
  ] as [SamplingParamsInput, string][]) {
    it(`rejects ${JSON.stringify(input)} naming ${param}`, () => {
      assert.throws(() => resolveSamplingParams(input, 262), { name: 'InvalidRequestError', param });
    });
  }
});
