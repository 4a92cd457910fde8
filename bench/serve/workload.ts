import { Rng } from '../../lib/util/rng.js';

export interface WorkItem {
  /** Prompt as token ids (printable bytes after a BOS), so its length is exact. */
  readonly prompt: readonly number[];
  readonly maxTokens: number;
}

export type Dataset = 'fixed' | 'mixed';

export interface WorkloadOptions {
  readonly dataset: Dataset;
  readonly numPrompts: number;
  /** fixed: every prompt this long; mixed: the median. */
  readonly inputLen: number;
  readonly outputLen: number;
  /** fixed only: lengths spread uniformly over ±ratio around the given ones (0 = exact). */
  readonly rangeRatio: number;
  readonly seed: number;
  /** Longest prompt + output the server allows. */
  readonly maxModelLen: number;
}

/**
 * A seeded list of requests. `fixed` gives every request the same lengths (or a uniform spread
 * around them); `mixed` draws lengths from log-normal distributions around the given medians,
 * the long-tailed shape of real chat traffic, clipped to the server's context.
 */
export function makeWorkload(o: WorkloadOptions): WorkItem[] {
  const rng = new Rng(o.seed);
  const uniform = (center: number) => Math.max(1, Math.round(center * (1 - o.rangeRatio + 2 * o.rangeRatio * rng.nextFloat())));
  const logNormal = (median: number, sigma: number) => {
    // Box-Muller on two uniforms
    const z = Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
    return Math.max(1, Math.round(median * Math.exp(sigma * z)));
  };
  return Array.from({ length: o.numPrompts }, () => {
    let input = o.dataset === 'fixed' ? uniform(o.inputLen) : logNormal(o.inputLen, 0.8);
    let output = o.dataset === 'fixed' ? uniform(o.outputLen) : logNormal(o.outputLen, 0.6);
    input = Math.min(input, o.maxModelLen - 2);
    output = Math.min(output, o.maxModelLen - 1 - input);
    const prompt = [256, ...Array.from({ length: input - 1 }, () => 32 + (rng.nextUint32() % 95))];
    return { prompt, maxTokens: output };
  });
}
