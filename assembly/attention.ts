import { dot } from './simd';

/**
 * Causal grouped-query attention over the paged cache. Token t attends to positions
 * 0..positions[t] of its sequence, found through that sequence's row of blockTables.
 * `scores` is scratch for one row of attention weights (at least the longest context).
 */
export function attention(
  out: usize,
  q: usize,
  keys: usize,
  values: usize,
  blockTables: usize,
  tokenSeq: usize,
  positions: usize,
  n: i32,
  numHeads: i32,
  numKvHeads: i32,
  headDim: i32,
  blockSize: i32,
  maxBlocksPerSeq: i32,
  scores: usize,
): void {
  const group = numHeads / numKvHeads;
  const kvDim = numKvHeads * headDim;
  const scale = f32(1) / Mathf.sqrt(f32(headDim));
  const vecDim = headDim & ~3;
  for (let t: i32 = 0; t < n; t++) {
    const table = blockTables + ((<usize>load<i32>(tokenSeq + (<usize>t << 2)) * <usize>maxBlocksPerSeq) << 2);
    const contextLen = load<i32>(positions + (<usize>t << 2)) + 1;
    for (let h: i32 = 0; h < numHeads; h++) {
      const qh = q + ((<usize>(t * numHeads + h) * <usize>headDim) << 2);
      const kvOffset = <usize>((h / group) * headDim) << 2;
      // scores, and their maximum for a stable softmax
      let max = -Infinity as f32;
      for (let p: i32 = 0; p < contextLen; p++) {
        const slot = <usize>(load<i32>(table + (<usize>(p / blockSize) << 2)) * blockSize + (p % blockSize));
        const s = dot(qh, keys + ((slot * <usize>kvDim) << 2) + kvOffset, headDim) * scale;
        store<f32>(scores + (<usize>p << 2), s);
        if (s > max) max = s;
      }
      let denom: f32 = 0;
      for (let p: i32 = 0; p < contextLen; p++) {
        const e = Mathf.exp(load<f32>(scores + (<usize>p << 2)) - max);
        store<f32>(scores + (<usize>p << 2), e);
        denom += e;
      }
      // out = Σ_p weight[p] · v[p]
      const oh = out + ((<usize>(t * numHeads + h) * <usize>headDim) << 2);
      memory.fill(oh, 0, <usize>headDim << 2);
      const inv = f32(1) / denom;
      for (let p: i32 = 0; p < contextLen; p++) {
        const slot = <usize>(load<i32>(table + (<usize>(p / blockSize) << 2)) * blockSize + (p % blockSize));
        const vp = values + ((slot * <usize>kvDim) << 2) + kvOffset;
        const wgt = load<f32>(scores + (<usize>p << 2)) * inv;
        const wv = f32x4.splat(wgt);
        for (let i: i32 = 0; i < vecDim; i += 4) {
          const off = <usize>i << 2;
          v128.store(oh + off, f32x4.add(v128.load(oh + off), f32x4.mul(wv, v128.load(vp + off))));
        }
        for (let i: i32 = vecDim; i < headDim; i++) {
          const off = <usize>i << 2;
          store<f32>(oh + off, load<f32>(oh + off) + wgt * load<f32>(vp + off));
        }
      }
    }
  }
}
