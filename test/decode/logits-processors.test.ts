import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyLogitsProcessors, defaultLogitsProcessors } from '../../lib/decode/pipeline.js';
import { resolveSamplingParams, type SamplingParamsInput } from '../../lib/engine/sampling-params.js';
import { Sequence } from '../../lib/engine/sequence.js';

const EOS = 0;

/** A sequence with `prompt` and already generated `output`. */
function sequence(prompt: number[], output: number[], input: SamplingParamsInput): Sequence {
  const seq = new Sequence(1, 'r', prompt, resolveSamplingParams(input, 8), 64, 1);
  seq.tokenIds.push(...output);
  return seq;
}

function apply(logits: number[], seq: Sequence): number[] {
  const row = Float32Array.from(logits);
  applyLogitsProcessors(defaultLogitsProcessors([EOS]), row, seq);
  return Array.from(row, (v) => Math.round(v * 1e5) / 1e5);
}

const LOGITS = [1.0, 2.0, -1.0, 0.5, 3.0, -2.0, 0.0, 1.5];

describe('the logits processors, known answers', () => {
  it('repetition penalty: positive logits divided, negative multiplied, for prompt and output tokens (vLLM, CTRL)', () => {
    // prompt {1, 2}, output {2, 3}: tokens 1, 2, 3 penalised once each
    assert.deepEqual(apply(LOGITS, sequence([1, 2], [2, 3], { repetitionPenalty: 2 })), [1.0, 1.0, -2.0, 0.25, 3.0, -2.0, 0.0, 1.5]);
  });

  it('frequency penalty per occurrence in the output, presence penalty once, prompt tokens untouched (OpenAI)', () => {
    // output: 3 three times, 4 once; prompt token 1 is not penalised
    const seq = sequence([1], [3, 3, 4, 3], { frequencyPenalty: 0.5, presencePenalty: 0.25 });
    assert.deepEqual(apply(LOGITS, seq), [1.0, 2.0, -1.0, 0.5 - 1.5 - 0.25, 3.0 - 0.5 - 0.25, -2.0, 0.0, 1.5]);
  });

  it('negative penalties encourage repeats', () => {
    assert.deepEqual(apply(LOGITS, sequence([1], [5], { presencePenalty: -1 })), [1.0, 2.0, -1.0, 0.5, 3.0, -1.0, 0.0, 1.5]);
  });

  it('logit bias is added first, then penalties apply to the biased logit', () => {
    const seq = sequence([1], [6], { logitBias: [[6, 2], [2, -100]], repetitionPenalty: 2 });
    assert.deepEqual(apply(LOGITS, seq), [1.0, 1.0, -101.0, 0.5, 3.0, -2.0, 1.0, 1.5]);
  });

  it('min_tokens masks end of generation and stop token ids until reached, then not', () => {
    assert.deepEqual(apply(LOGITS, sequence([1], [4], { minTokens: 2, stopTokenIds: [7] })), [-Infinity, 2.0, -1.0, 0.5, 3.0, -2.0, 0.0, -Infinity]);
    assert.deepEqual(apply(LOGITS, sequence([1], [4, 4], { minTokens: 2, stopTokenIds: [7] })), LOGITS);
    assert.deepEqual(apply(LOGITS, sequence([1], [4], { minTokens: 2, ignoreEos: true })), LOGITS, 'ignore_eos leaves EOS alone');
  });

  it('counts new output incrementally across steps', () => {
    const seq = sequence([1], [3], { frequencyPenalty: 1 });
    const processors = defaultLogitsProcessors([EOS]);
    const row = () => Float32Array.from(LOGITS);
    const first = row();
    applyLogitsProcessors(processors, first, seq);
    assert.equal(first[3], -0.5);
    seq.tokenIds.push(3, 3);
    const second = row();
    applyLogitsProcessors(processors, second, seq);
    assert.equal(second[3], -2.5);
  });
});
