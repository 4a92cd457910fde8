import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BlockManager } from '../../lib/engine/block-manager.js';
import { Scheduler, type SchedulerConfig, type SchedulerOutput } from '../../lib/engine/scheduler.js';
import type { Sequence } from '../../lib/engine/sequence.js';
import { makeSequence } from '../helpers/sequences.js';

const EOS = 257;

function makeScheduler(config: Partial<SchedulerConfig> = {}, numBlocks = 64, blockSize = 4, prefixCaching = false): Scheduler {
  return new Scheduler(
    { maxNumSeqs: 8, maxNumBatchedTokens: 64, enableChunkedPrefill: true, endOfGenerationIds: [EOS], ...config },
    new BlockManager(numBlocks, blockSize, prefixCaching),
  );
}

/** Runs one step, sampling `token` for every sequence that samples. */
function step(s: Scheduler, token = 1): { out: SchedulerOutput; finished: Sequence[] } {
  const out = s.schedule();
  const sampled = new Map(out.scheduled.filter((e) => e.sample).map((e) => [e.seq, token] as const));
  return { out, finished: s.postprocess(out, sampled) };
}

const tokensOf = (out: SchedulerOutput) => out.scheduled.map((e) => [e.seq.seqId, e.numNewTokens]);

describe('Scheduler', () => {
  it('counts steps from 1 and never resets', () => {
    const s = makeScheduler();
    s.add(makeSequence(3, { maxTokens: 1 }));
    assert.equal(s.step, 0);
    assert.equal(step(s).out.step, 1);
    assert.equal(s.hasUnfinished, false);
    s.add(makeSequence(3, { maxTokens: 1 }));
    assert.equal(step(s).out.step, 2);
  });

  it('admits waiting sequences first come, first served', () => {
    const s = makeScheduler();
    const seqs = [5, 3, 4].map((n) => makeSequence(n, { maxTokens: 3 }));
    for (const seq of seqs) s.add(seq);
    const { out } = step(s);
    assert.deepEqual(out.admitted.map((a) => [a.seq, a.kind]), seqs.map((seq) => [seq, 'FIRST']));
    assert.deepEqual(tokensOf(out), seqs.map((seq) => [seq.seqId, seq.numPromptTokens]));
    assert.deepEqual(s.running, seqs);
  });

  it('does not let a later request overtake a head that does not fit', () => {
    const s = makeScheduler({}, 4, 4); // 16 token slots
    const big = makeSequence(12, { maxTokens: 4 });
    const blocked = makeSequence(12, { maxTokens: 2 });
    const small = makeSequence(2, { maxTokens: 2 });
    s.add(big);
    s.add(blocked);
    s.add(small);
    const { out } = step(s);
    assert.deepEqual(out.admitted.map((a) => a.seq), [big]);
    assert.deepEqual(s.waiting, [blocked, small]);
  });

  it('keeps every step within the token budget and decodes every running sequence each step', () => {
    const s = makeScheduler({ maxNumBatchedTokens: 10, maxNumSeqs: 4 });
    const a = makeSequence(6, { maxTokens: 5 });
    const b = makeSequence(20, { maxTokens: 5 });
    s.add(a);
    s.add(b);
    const first = step(s).out;
    assert.deepEqual(tokensOf(first), [
      [a.seqId, 6],
      [b.seqId, 4],
    ]);
    assert.deepEqual(first.scheduled.map((e) => e.sample), [true, false]);
    for (let i = 0; i < 3; i++) {
      const { out } = step(s);
      assert.ok(out.numBatchedTokens <= 10);
      // a decodes first (1 token), b's prefill continues with what is left
      assert.deepEqual(out.scheduled[0].seq, a);
      assert.equal(out.scheduled[0].numNewTokens, 1);
    }
  });

  it('splits a long prompt into budget-sized chunks and samples only after the last one', () => {
    const s = makeScheduler({ maxNumBatchedTokens: 8, maxNumSeqs: 2 });
    const seq = makeSequence(21, { maxTokens: 2 });
    s.add(seq);
    const chunks: [number, boolean][] = [];
    while (seq.numOutputTokens === 0) {
      const { out } = step(s);
      chunks.push([out.scheduled[0].numNewTokens, out.scheduled[0].sample]);
    }
    assert.deepEqual(chunks, [
      [8, false],
      [8, false],
      [5, true],
    ]);
    assert.equal(seq.prefillHighWater, 21);
    assert.equal(seq.numComputedTokens, 21);
  });

  it('admits a prompt only whole when chunked prefill is off', () => {
    const s = makeScheduler({ maxNumBatchedTokens: 8, maxNumSeqs: 2, enableChunkedPrefill: false });
    const small = makeSequence(4, { maxTokens: 2 });
    const large = makeSequence(6, { maxTokens: 2 });
    s.add(small);
    s.add(large);
    assert.deepEqual(tokensOf(step(s).out), [[small.seqId, 4]]);
  });

  it('caps the number of running sequences', () => {
    const s = makeScheduler({ maxNumSeqs: 2 });
    for (let i = 0; i < 4; i++) s.add(makeSequence(3, { maxTokens: 4 }));
    step(s);
    assert.equal(s.running.length, 2);
    assert.equal(s.waiting.length, 2);
  });

  it('preempts the newest sequence when blocks run out, and resumes it at the front of the queue', () => {
    // 6 blocks of 2 tokens: three 3-token prompts take 2 blocks each; the decode at position 4
    // (step 3) needs a third block per sequence
    const s = makeScheduler({ maxNumSeqs: 4 }, 6, 2);
    const seqs = [0, 1, 2].map(() => makeSequence(3, { maxTokens: 4, ignoreEos: true }));
    for (const seq of seqs) s.add(seq);
    const later = makeSequence(3, { maxTokens: 1 });
    step(s);
    s.add(later);
    assert.deepEqual(step(s).out.preempted, []);
    const third = step(s).out;
    assert.deepEqual(third.preempted, [seqs[2]]);
    assert.equal(seqs[2].numPreemptions, 1);
    assert.equal(seqs[2].status, 'waiting');
    assert.equal(seqs[2].numComputedTokens, 0);
    assert.deepEqual(seqs[2].blockTable, []);
    assert.equal(seqs[2].prefillHighWater, 3, 'the prefill high-water mark survives preemption');
    assert.deepEqual(s.waiting, [seqs[2], later], 'the preempted sequence goes back to the front');
    assert.equal(third.admitted.length, 0, 'nothing is admitted in a step that preempts');

    const resumedAt: SchedulerOutput[] = [];
    while (s.hasUnfinished) {
      const { out } = step(s);
      if (out.admitted.some((a) => a.seq === seqs[2])) resumedAt.push(out);
    }
    assert.equal(resumedAt.length, 1);
    const resumed = resumedAt[0].admitted.find((a) => a.seq === seqs[2]);
    assert.equal(resumed?.kind, 'RESUME');
    // on resume it recomputes its prompt and the two tokens it had already generated
    assert.equal(resumedAt[0].scheduled.find((e) => e.seq === seqs[2])?.numNewTokens, 5);
    for (const seq of seqs) assert.equal(seq.numOutputTokens, 4);
    assert.equal(s.blockManager.numFreeBlocks, 6);
  });

  it('preempts the sequence that needs a block itself when every other one is already scheduled', () => {
    // 4 blocks of 2: a (3 tokens) and b (4 tokens) take 2 each; in step 2, a decodes at position 3
    // inside its second block, then b needs a third block for position 4 and only a could give it
    const s = makeScheduler({ maxNumSeqs: 2 }, 4, 2);
    const a = makeSequence(3, { maxTokens: 3, ignoreEos: true });
    const b = makeSequence(4, { maxTokens: 3, ignoreEos: true });
    s.add(a);
    s.add(b);
    step(s);
    const { out } = step(s);
    assert.deepEqual(out.preempted, [b]);
    assert.deepEqual(tokensOf(out), [[a.seqId, 1]]);
    while (s.hasUnfinished) step(s);
    assert.equal(a.numOutputTokens, 3);
    assert.equal(b.numOutputTokens, 3);
    assert.equal(s.blockManager.numFreeBlocks, 4);
  });

  it('refuses a sequence that could never fit the KV cache, instead of preempting it forever', () => {
    const s = makeScheduler({}, 3, 2);
    assert.throws(() => s.add(makeSequence(2, { maxTokens: 5 })), /KV cache/);
    s.add(makeSequence(2, { maxTokens: 4 }));
  });

  it('finishes on EOS, on a stop token, and at max_tokens, and frees the blocks', () => {
    const s = makeScheduler();
    const eos = makeSequence(3, { maxTokens: 10 });
    s.add(eos);
    assert.deepEqual(step(s, EOS).finished, [eos]);
    assert.equal(eos.finishReason, 'stop');

    const stopId = makeSequence(3, { maxTokens: 10, stopTokenIds: [65] });
    s.add(stopId);
    step(s, 66);
    assert.deepEqual(step(s, 65).finished, [stopId]);
    assert.equal(stopId.finishReason, 'stop');
    assert.deepEqual(stopId.tokenIds.slice(3), [66, 65]);

    const ignoring = makeSequence(3, { maxTokens: 2, ignoreEos: true });
    s.add(ignoring);
    step(s, EOS);
    assert.deepEqual(step(s, EOS).finished, [ignoring]);
    assert.equal(ignoring.finishReason, 'length');
    assert.equal(s.blockManager.numFreeBlocks, 64);
  });

  it('finishes at the context window when max_tokens is not set', () => {
    const s = makeScheduler();
    const seq = makeSequence(3, {}, 6);
    s.add(seq);
    let finished: Sequence[] = [];
    while (finished.length === 0) finished = step(s, 1).finished;
    assert.equal(seq.numTokens, 6);
    assert.equal(seq.finishReason, 'length');
  });

  it('finish() removes a sequence from either queue and frees its blocks, once', () => {
    const s = makeScheduler({ maxNumSeqs: 1 });
    const running = makeSequence(5, { maxTokens: 9 });
    const waiting = makeSequence(5, { maxTokens: 9 });
    s.add(running);
    s.add(waiting);
    step(s);
    assert.equal(s.finish(waiting, 'abort'), true);
    assert.equal(s.finish(running, 'abort'), true);
    assert.equal(s.finish(running, 'abort'), false);
    assert.equal(s.hasUnfinished, false);
    assert.equal(s.blockManager.numFreeBlocks, 64);
  });

  it('reuses cached prompt blocks across requests with a common prefix', () => {
    const s = makeScheduler({}, 16, 4, true);
    const prompt = Array.from({ length: 10 }, (_, i) => i + 1);
    const first = makeSequence(prompt, { maxTokens: 1 });
    s.add(first);
    step(s);
    const second = makeSequence([...prompt.slice(0, 8), 99], { maxTokens: 1 });
    s.add(second);
    const { out } = step(s);
    // two full blocks (8 tokens) come from the cache; only the last token is computed
    assert.deepEqual(tokensOf(out), [[second.seqId, 1]]);
  });
});
