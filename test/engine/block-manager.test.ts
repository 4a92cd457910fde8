import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BlockManager } from '../../lib/engine/block-manager.js';
import { makeSequence } from '../helpers/sequences.js';

describe('BlockManager', () => {
  it('allocates whole blocks for a token count and frees them all', () => {
    const bm = new BlockManager(10, 4, false);
    const seq = makeSequence(9);
    assert.equal(bm.numBlocksFor(9), 3);
    assert.ok(bm.canAllocate(seq, 9));
    bm.allocate(seq, 9);
    assert.equal(seq.blockTable.length, 3);
    assert.equal(new Set(seq.blockTable).size, 3);
    assert.equal(bm.numFreeBlocks, 7);
    bm.allocate(seq, 12); // still fits in three blocks
    assert.equal(seq.blockTable.length, 3);
    bm.allocate(seq, 13);
    assert.equal(seq.blockTable.length, 4);
    bm.free(seq);
    assert.deepEqual(seq.blockTable, []);
    assert.equal(bm.numFreeBlocks, 10);
    assert.equal(bm.usage, 0);
  });

  it('refuses what does not fit and leaves the free list untouched', () => {
    const bm = new BlockManager(2, 4, false);
    const seq = makeSequence(9);
    assert.equal(bm.canAllocate(seq, 9), false);
    assert.throws(() => bm.allocate(seq, 9), /not enough free KV blocks/);
    assert.equal(bm.numFreeBlocks, 2);
  });

  it('shares computed full blocks of a common prefix through reference counts', () => {
    const bm = new BlockManager(8, 4, true);
    const prompt = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const first = makeSequence(prompt);
    bm.allocate(first, prompt.length);
    first.numComputedTokens = prompt.length;
    bm.markComputed(first); // two full blocks are now findable

    const second = makeSequence([...prompt.slice(0, 8), 42, 43, 44]);
    const cached = bm.findCachedPrefix(second.tokenIds);
    assert.deepEqual(cached, first.blockTable.slice(0, 2));
    bm.allocate(second, second.numTokens, cached);
    assert.deepEqual(second.blockTable.slice(0, 2), first.blockTable.slice(0, 2));
    assert.equal(bm.numFreeBlocks, 8 - 3 - 1);

    bm.free(first); // shared blocks stay held by the second sequence
    assert.equal(bm.numFreeBlocks, 8 - 3);
    bm.free(second);
    assert.equal(bm.numFreeBlocks, 8);
  });

  it('always leaves at least one token out of a cached match', () => {
    const bm = new BlockManager(8, 4, true);
    const prompt = [1, 2, 3, 4, 5, 6, 7, 8];
    const first = makeSequence(prompt);
    bm.allocate(first, 8);
    first.numComputedTokens = 8;
    bm.markComputed(first);
    // the same 8 tokens: only the first block may be reused, the last token must be computed
    assert.equal(bm.findCachedPrefix(prompt).length, 1);
  });

  it('finds freed blocks again until they are handed out, least recently freed first', () => {
    const bm = new BlockManager(3, 2, true);
    const a = makeSequence([1, 2, 3, 4, 5]);
    bm.allocate(a, 5);
    a.numComputedTokens = 5;
    bm.markComputed(a);
    bm.free(a);
    assert.equal(bm.numFreeBlocks, 3);
    assert.equal(bm.findCachedPrefix([1, 2, 3, 4, 9]).length, 2);

    // a cached block nobody holds is taken out of the free queue when reused
    const b = makeSequence([1, 2, 3, 4, 9]);
    const cached = bm.findCachedPrefix(b.tokenIds);
    assert.ok(bm.canAllocate(b, 5, cached));
    bm.allocate(b, 5, cached);
    assert.equal(bm.numFreeBlocks, 0);
    bm.free(b);

    // fresh allocations evict the cache: after three fresh blocks nothing of [1, 2, 3, 4] is left
    const c = makeSequence([7, 7, 7, 7, 7, 7]);
    bm.allocate(c, 6);
    assert.equal(bm.findCachedPrefix([1, 2, 3, 4, 9]).length, 0);
    bm.free(c);
  });

  it('does not match blocks whose tokens differ', () => {
    const bm = new BlockManager(4, 2, true);
    const a = makeSequence([1, 2, 3]);
    bm.allocate(a, 3);
    a.numComputedTokens = 3;
    bm.markComputed(a);
    assert.equal(bm.findCachedPrefix([1, 3, 3]).length, 0);
    assert.equal(bm.findCachedPrefix([2, 1, 3]).length, 0);
  });

  it('finds nothing when prefix caching is off', () => {
    const bm = new BlockManager(4, 2, false);
    const a = makeSequence([1, 2, 3]);
    bm.allocate(a, 3);
    a.numComputedTokens = 3;
    bm.markComputed(a);
    assert.deepEqual(bm.findCachedPrefix([1, 2, 3]), []);
  });
});
