import type { Rng } from '../util/rng.js';
import type { DecodeSpec } from './decode-spec.js';

/** Buckets of the probability histogram: the top 16 bits of a float32 in [0, 1] (1.0 is 0x3f80). */
const NUM_BUCKETS = 0x3f81;

/**
 * Picks one token from a row of logits. Greedy at temperature 0 (the lowest id wins a tie);
 * otherwise a draw from the tempered distribution after min-p, top-k and top-p, in that order
 * (vLLM's), using the sequence's own generator, so that the same seed gives the same tokens
 * however the sequence is batched.
 *
 * Each filter keeps a prefix of the tokens ordered by probability (ties: lower id first), so the
 * kept set is "probability above a boundary, plus the boundary's ties up to an id". The boundary
 * is found without sorting the vocabulary: one pass builds a histogram of the probabilities by
 * their float32 bits (which order positive floats), a scan of it finds the bucket where the
 * count (top-k) or the mass (top-p) is reached, and only that bucket's tokens are sorted. A
 * draw then walks the kept tokens in id order. At 152k tokens that is a few passes over the
 * row, not a sort of it.
 */
export class Sampler {
  private readonly counts = new Int32Array(NUM_BUCKETS); // [NUM_BUCKETS] tokens per bucket
  private readonly masses = new Float64Array(NUM_BUCKETS); // [NUM_BUCKETS] probability per bucket
  private readonly boundary: Int32Array; // [vocabSize] token ids of one bucket, being sorted
  /** The min-p floor of the row being sampled: tokens below it are out of every bucket. */
  private minProb = 0;

  constructor(readonly vocabSize: number) {
    this.boundary = new Int32Array(vocabSize);
  }

  /**
   * `logits` and `probs` are one row each [vocabSize]: logits after the logits processors, and
   * probs = softmax(logits / temperature) (unset for greedy rows).
   */
  sample(logits: Float32Array, probs: Float32Array, params: DecodeSpec, rng: Rng): number {
    if (params.temperature === 0) return argmax(logits);
    const u = rng.nextFloat();
    const filtered = params.minP > 0 || params.topK > 0 || params.topP < 1;
    if (!filtered) return drawBelow(probs, u, Infinity, -1);
    const cut = this.keptPrefix(probs, params);
    return drawBelow(probs, u, cut.value, cut.lastTieId);
  }

  /**
   * The kept set as a boundary: every token with probability above `value`, and those equal to
   * it with ids up to `lastTieId`.
   */
  private keptPrefix(probs: Float32Array, params: DecodeSpec): { value: number; lastTieId: number } {
    const bits = new Uint32Array(probs.buffer, probs.byteOffset, probs.length);
    const { counts, masses } = this;
    counts.fill(0);
    masses.fill(0);
    let maxProb = 0;
    for (let i = 0; i < probs.length; i++) if (probs[i] > maxProb) maxProb = probs[i];
    const minProb = (this.minProb = params.minP * maxProb);
    let numKept = 0;
    for (let i = 0; i < probs.length; i++) {
      const p = probs[i];
      if (p < minProb || p <= 0) continue; // min-p; and a zero-probability token is never kept
      const b = bits[i] >>> 16;
      counts[b]++;
      masses[b] += p;
      numKept++;
    }
    if (numKept === 0) return { value: maxProb, lastTieId: probs.length }; // all below: keep the most likely
    let limit = params.topK > 0 ? Math.min(params.topK, numKept) : numKept;
    if (params.topP < 1) {
      const keptMass = this.prefixMass(probs, bits, limit);
      limit = this.prefixLengthReaching(probs, bits, params.topP * keptMass, limit);
    }
    return this.prefixBoundary(probs, bits, limit);
  }

  /** The mass of the `length` most likely tokens. */
  private prefixMass(probs: Float32Array, bits: Uint32Array, length: number): number {
    let mass = 0;
    let taken = 0;
    for (let b = NUM_BUCKETS - 1; b >= 0 && taken < length; b--) {
      if (taken + this.counts[b] <= length) {
        taken += this.counts[b];
        mass += this.masses[b];
        continue;
      }
      const n = this.sortBucket(probs, bits, b);
      for (let j = 0; j < n && taken < length; j++, taken++) mass += probs[this.boundary[j]];
    }
    return mass;
  }

  /** The fewest most likely tokens (at most `limit`) whose mass reaches `target`. */
  private prefixLengthReaching(probs: Float32Array, bits: Uint32Array, target: number, limit: number): number {
    let mass = 0;
    let taken = 0;
    for (let b = NUM_BUCKETS - 1; b >= 0 && taken < limit; b--) {
      const count = Math.min(this.counts[b], limit - taken);
      if (count === 0) continue;
      if (mass + this.masses[b] < target && count === this.counts[b]) {
        mass += this.masses[b];
        taken += count;
        continue;
      }
      // the target is reached in this bucket (or the limit cuts it): go token by token
      const n = this.sortBucket(probs, bits, b);
      for (let j = 0; j < n && taken < limit; j++) {
        mass += probs[this.boundary[j]];
        taken++;
        // the token that crosses top_p stays in, so the kept set always reaches top_p
        if (mass >= target) return taken;
      }
    }
    return Math.max(1, taken);
  }

  /** The boundary of the `length` most likely tokens. */
  private prefixBoundary(probs: Float32Array, bits: Uint32Array, length: number): { value: number; lastTieId: number } {
    let taken = 0;
    for (let b = NUM_BUCKETS - 1; b >= 0; b--) {
      if (this.counts[b] === 0) continue;
      if (taken + this.counts[b] < length) {
        taken += this.counts[b];
        continue;
      }
      const n = this.sortBucket(probs, bits, b);
      const last = this.boundary[Math.min(n, length - taken) - 1];
      return { value: probs[last], lastTieId: last };
    }
    return { value: 0, lastTieId: probs.length };
  }

  /** Gathers bucket `b`'s tokens into `boundary`, most likely first (ties: lower id first); returns how many. */
  private sortBucket(probs: Float32Array, bits: Uint32Array, b: number): number {
    let n = 0;
    const floor = this.minProb;
    for (let i = 0; i < probs.length; i++) if (bits[i] >>> 16 === b && probs[i] > 0 && probs[i] >= floor) this.boundary[n++] = i;
    const view = this.boundary.subarray(0, n);
    view.sort((x, y) => probs[y] - probs[x] || x - y);
    return n;
  }
}

export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/**
 * Draws, in id order, among the tokens with probability above `value`, or equal to it with an id
 * up to `lastTieId` (every token with a probability when `value` is Infinity); `u` in [0, 1).
 */
function drawBelow(probs: Float32Array, u: number, value: number, lastTieId: number): number {
  const all = value === Infinity;
  let total = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i];
    if (p > 0 && (all || p > value || (p === value && i <= lastTieId))) total += p;
  }
  let target = u * total;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i];
    if (!(p > 0 && (all || p > value || (p === value && i <= lastTieId)))) continue;
    last = i;
    target -= p;
    if (target < 0) return i;
  }
  return last >= 0 ? last : argmax(probs); // rounding left a sliver of mass: the last kept token takes it
}
