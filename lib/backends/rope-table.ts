import type { RopeSpec } from './kernels.js';

/**
 * cos and sin of every (position, pair) for `rope`, [maxPositions, headDim/2, 2], in f32 the
 * way ggml_rope_cache_init computes them: theta starts at the position and is multiplied by
 * powf(base, −2/headDim) from pair to pair in single precision, so the angles match llama.cpp's
 * to the last bit and long contexts do not drift apart.
 */
export function ropeTable(rope: RopeSpec, maxPositions: number, out: Float32Array = new Float32Array(maxPositions * rope.headDim)): Float32Array {
  const half = rope.headDim / 2;
  const f = Math.fround;
  const thetaScale = f(Math.pow(rope.theta, f(-2 / rope.headDim)));
  const freqScale = f(rope.freqScale);
  for (let p = 0; p < maxPositions; p++) {
    let theta = f(p);
    for (let i = 0; i < half; i++) {
      const ff = rope.freqFactors ? rope.freqFactors[i] : 1;
      const angle = f(freqScale * f(theta / ff));
      out[(p * half + i) * 2] = Math.cos(angle);
      out[(p * half + i) * 2 + 1] = Math.sin(angle);
      theta = f(theta * thetaScale);
    }
  }
  return out;
}

/** Applies the table to one head's values at `base` of x (in place). */
export function rotateHead(x: Float32Array, base: number, table: Float32Array, position: number, rope: RopeSpec): void {
  const half = rope.headDim / 2;
  const row = position * half * 2;
  for (let i = 0; i < half; i++) {
    const cos = table[row + 2 * i];
    const sin = table[row + 2 * i + 1];
    const ia = rope.style === 'normal' ? base + 2 * i : base + i;
    const ib = rope.style === 'normal' ? ia + 1 : ia + half;
    const a = x[ia];
    const b = x[ib];
    x[ia] = a * cos - b * sin;
    x[ib] = a * sin + b * cos;
  }
}

/** A key that tells two rope specs apart, for caching their tables. */
export function ropeKey(rope: RopeSpec): string {
  return `${rope.headDim}:${rope.theta}:${rope.style}:${rope.freqScale}:${rope.freqFactors ? Array.from(rope.freqFactors).join(',') : ''}`;
}
