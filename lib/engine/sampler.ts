import type { Rng } from '../util/rng.js';
import type { SamplingParams } from './sampling-params.js';

/**
 * Picks one token from a row of logits. Greedy at temperature 0 (the lowest id wins a tie);
 * otherwise a draw from the tempered distribution after top-k and top-p filtering, using the
 * sequence's own generator, so that the same seed gives the same tokens however the sequence is
 * batched.
 */
export class Sampler {
  private readonly order: Int32Array; // [vocabSize] token ids, sorted by probability when filtering

  constructor(readonly vocabSize: number) {
    this.order = new Int32Array(vocabSize);
  }

  /** `logits` and `probs` are one row each [vocabSize]; `probs` = softmax(logits / temperature). */
  sample(logits: Float32Array, probs: Float32Array, params: SamplingParams, rng: Rng): number {
    if (params.temperature === 0) return argmax(logits);
    const u = rng.nextFloat();
    if (params.topK === 0 && params.topP >= 1) return drawInIdOrder(probs, u);

    const order = this.order;
    for (let i = 0; i < order.length; i++) order[i] = i;
    order.sort((a, b) => probs[b] - probs[a] || a - b);
    let keep = params.topK > 0 ? Math.min(params.topK, order.length) : order.length;
    let mass = 0;
    for (let i = 0; i < keep; i++) {
      mass += probs[order[i]];
      // the token that crosses top_p stays in, so the kept set always reaches top_p
      if (params.topP < 1 && mass >= params.topP) {
        keep = i + 1;
        break;
      }
    }
    let target = u * mass;
    for (let i = 0; i < keep; i++) {
      target -= probs[order[i]];
      if (target < 0) return order[i];
    }
    return order[keep - 1]; // rounding left a sliver of mass: the last kept token takes it
  }
}

export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

function drawInIdOrder(probs: Float32Array, u: number): number {
  let total = 0;
  for (let i = 0; i < probs.length; i++) total += probs[i];
  let target = u * total;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    last = i;
    target -= probs[i];
    if (target < 0) return i;
  }
  return last;
}
