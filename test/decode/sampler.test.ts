import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Sampler } from '../../lib/decode/sampler.js';
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
      includeStopStrInOutput: false,
      presencePenalty: 0,
      frequencyPenalty: 0,
      repetitionPenalty: 1,
      minP: 0,
      minTokens: 0,
      logitBias: [],
      logprobs: null,
      promptLogprobs: null,
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
    [{ minTokens: 5, maxTokens: 2 }, 'min_tokens'],
    [{ repetitionPenalty: 0 }, 'repetition_penalty'],
    [{ minP: 1.5 }, 'min_p'],
    [{ logitBias: [[999, 1]] }, 'logit_bias'],
    [{ logitBias: [[1, 101]] }, 'logit_bias'],
    [{ logprobs: 21 }, 'logprobs'],
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

/**
 * The reference: sort by probability (ties: lower id first), then min-p against the most likely,
 * top-k, and top-p over the kept mass, as vLLM applies them. Returns the kept ids.
 */
function referenceKept(probs: Float32Array, p: { minP: number; topK: number; topP: number }): number[] {
  const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a] || a - b);
  const max = probs[order[0]];
  let kept = order.filter((i) => probs[i] > 0 && probs[i] >= p.minP * max);
  if (p.topK > 0) kept = kept.slice(0, p.topK);
  if (p.topP < 1) {
    const total = kept.reduce((s, i) => s + probs[i], 0);
    let mass = 0;
    let n = 0;
    for (const i of kept) {
      mass += probs[i];
      n++;
      if (mass >= p.topP * total) break;
    }
    kept = kept.slice(0, n);
  }
  return kept;
}

/** A generator that returns the given uniforms in turn. */
const fixedRng = (values: number[]) => ({ nextFloat: () => values.shift() as number }) as unknown as Rng;

describe('Sampler filters against a sorting reference', () => {
  it('keeps exactly the reference set, ties included, and draws each kept token for its share of u', () => {
    const rng = new Rng(77);
    for (let trial = 0; trial < 60; trial++) {
      const vocab = 50 + (rng.nextUint32() % 3000);
      // logits from a few values, so that probabilities tie often
      const logits = Array.from({ length: vocab }, () => Math.round(rng.nextFloat() * 40) / 4 - 5);
      const probs = softmax(logits, 1);
      const params = {
        minP: [0, 0.05, 0.3][trial % 3],
        topK: [0, 1, 7, 500][trial % 4],
        topP: [1, 0.9, 0.5, 0.05][(trial >> 2) % 4],
      };
      const kept = referenceKept(probs, params).sort((a, b) => a - b);
      const total = kept.reduce((s, i) => s + probs[i], 0);
      // the midpoint of each kept token's interval, in id order, must draw that token
      let before = 0;
      const us = kept.map((i) => {
        const u = (before + probs[i] / 2) / total;
        before += probs[i];
        return u;
      });
      const sampler = new Sampler(vocab);
      const resolved = resolveSamplingParams({ temperature: 1, ...params });
      const fixed = fixedRng([...us]);
      const drawn = us.map(() => sampler.sample(Float32Array.from(logits), probs, resolved, fixed));
      assert.deepEqual(drawn, kept, `trial ${trial}: ${JSON.stringify(params)}, vocab ${vocab}`);
    }
  });
});
