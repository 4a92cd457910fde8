import type { Sequence } from './sequence.js';

/** One fixed-size page of the KV cache. */
class Block {
  refCount = 0;
  /** Chain hash of this block's tokens and every token before them; set once the block is full. */
  hash: number | null = null;
  /** The block's token ids, kept to confirm a hash match. */
  tokenIds: number[] | null = null;
  constructor(readonly id: number) {}
}

const HASH_SEED = 0x2545f491;

/**
 * Hands out KV cache blocks to sequences: a free queue, reference counts, and a prefix cache.
 *
 * A block whose tokens are all computed gets a hash chained over every token up to its end, so a
 * later sequence with the same prefix (another choice of the same prompt, a resumed preemption, a
 * repeated system prompt) reuses it instead of recomputing it. Freed blocks keep their contents
 * and stay findable until the free queue hands them out again, least recently freed first.
 * Shared blocks are always full and never written again, so sharing needs no copy-on-write.
 */
export class BlockManager {
  private readonly blocks: Block[];
  /** Free blocks in eviction order: a Map keeps insertion order and deletes in O(1). */
  private readonly freeQueue = new Map<number, Block>();
  private readonly cachedByHash = new Map<number, Block>();

  constructor(
    readonly numBlocks: number,
    readonly blockSize: number,
    readonly enablePrefixCaching = true,
  ) {
    if (!Number.isInteger(numBlocks) || numBlocks < 1) throw new RangeError(`numBlocks must be ≥ 1, got ${numBlocks}`);
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`blockSize must be ≥ 1, got ${blockSize}`);
    this.blocks = Array.from({ length: numBlocks }, (_, id) => new Block(id));
    for (const block of this.blocks) this.freeQueue.set(block.id, block);
  }

  get numFreeBlocks(): number {
    return this.freeQueue.size;
  }

  /** Fraction of blocks held by at least one sequence. */
  get usage(): number {
    return 1 - this.freeQueue.size / this.numBlocks;
  }

  numBlocksFor(numTokens: number): number {
    return Math.ceil(numTokens / this.blockSize);
  }

  /**
   * Ids of the cached blocks that hold a prefix of `tokenIds`, longest match. At least one token
   * is always left out of the match, because the step that follows needs one token's logits.
   */
  findCachedPrefix(tokenIds: readonly number[]): number[] {
    if (!this.enablePrefixCaching) return [];
    const found: number[] = [];
    const maxBlocks = Math.floor((tokenIds.length - 1) / this.blockSize);
    let hash = HASH_SEED;
    for (let b = 0; b < maxBlocks; b++) {
      const start = b * this.blockSize;
      hash = chainHash(hash, tokenIds, start, start + this.blockSize);
      const block = this.cachedByHash.get(hash);
      if (!block || !sameTokens(block.tokenIds, tokenIds, start)) break;
      found.push(block.id);
    }
    return found;
  }

  /** Whether `seq` can hold `numTokens` tokens, taking `cachedPrefix` first if it holds none yet. */
  canAllocate(seq: Sequence, numTokens: number, cachedPrefix: readonly number[] = []): boolean {
    const held = seq.blockTable.length + cachedPrefix.length;
    const fresh = Math.max(0, this.numBlocksFor(numTokens) - held);
    // cached blocks nobody holds sit in the free queue; taking them shrinks it too
    let revived = 0;
    for (const id of cachedPrefix) if (this.blocks[id].refCount === 0) revived++;
    return fresh + revived <= this.freeQueue.size;
  }

  /** Grows `seq`'s block table to hold `numTokens` tokens. Check canAllocate first. */
  allocate(seq: Sequence, numTokens: number, cachedPrefix: readonly number[] = []): void {
    if (!this.canAllocate(seq, numTokens, cachedPrefix)) throw new Error(`not enough free KV blocks for sequence ${seq.seqId}`);
    if (cachedPrefix.length > 0 && seq.blockTable.length > 0) throw new Error('a cached prefix can only start an empty block table');
    for (const id of cachedPrefix) {
      const block = this.blocks[id];
      if (block.refCount++ === 0) this.freeQueue.delete(id);
      seq.blockTable.push(id);
    }
    const needed = this.numBlocksFor(numTokens);
    while (seq.blockTable.length < needed) seq.blockTable.push(this.takeFreshBlock().id);
  }

  /** Releases every block of `seq`; its tail blocks are evicted first, its prefix last. */
  free(seq: Sequence): void {
    for (let i = seq.blockTable.length - 1; i >= 0; i--) {
      const block = this.blocks[seq.blockTable[i]];
      if (--block.refCount === 0) this.freeQueue.set(block.id, block);
    }
    seq.blockTable = [];
  }

  /** Publishes the blocks that `seq` has filled completely so later sequences can reuse them. */
  markComputed(seq: Sequence): void {
    if (!this.enablePrefixCaching) return;
    const numFull = Math.floor(seq.numComputedTokens / this.blockSize);
    let first = numFull;
    while (first > 0 && this.blocks[seq.blockTable[first - 1]].hash === null) first--;
    for (let b = first; b < numFull; b++) {
      const block = this.blocks[seq.blockTable[b]];
      const prev = b === 0 ? HASH_SEED : (this.blocks[seq.blockTable[b - 1]].hash as number);
      const start = b * this.blockSize;
      block.hash = chainHash(prev, seq.tokenIds, start, start + this.blockSize);
      block.tokenIds = seq.tokenIds.slice(start, start + this.blockSize);
      if (!this.cachedByHash.has(block.hash)) this.cachedByHash.set(block.hash, block);
    }
  }

  private takeFreshBlock(): Block {
    const { value: block } = this.freeQueue.values().next();
    if (!block) throw new Error('KV block free queue is empty');
    this.freeQueue.delete(block.id);
    if (block.hash !== null && this.cachedByHash.get(block.hash) === block) this.cachedByHash.delete(block.hash);
    block.hash = null;
    block.tokenIds = null;
    block.refCount = 1;
    return block;
  }
}

/** A 53-bit hash of `prev` and tokens[start, end): two 32-bit multiply-xor lanes. */
function chainHash(prev: number, tokens: readonly number[], start: number, end: number): number {
  let a = (prev >>> 0) ^ 0x811c9dc5;
  let b = Math.floor(prev / 4294967296) ^ 0x9e3779b9;
  for (let i = start; i < end; i++) {
    const t = tokens[i];
    a = Math.imul(a ^ t, 0x01000193);
    b = Math.imul(b ^ (t + i), 0x85ebca6b);
    b ^= b >>> 15;
  }
  a ^= a >>> 16;
  return (a >>> 0) + ((b >>> 0) & 0x1fffff) * 4294967296;
}

function sameTokens(blockTokens: readonly number[] | null, tokens: readonly number[], start: number): boolean {
  if (!blockTokens) return false;
  for (let i = 0; i < blockTokens.length; i++) if (blockTokens[i] !== tokens[start + i]) return false;
  return true;
}
