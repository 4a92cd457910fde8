import { halfToFloat4, roundToHalf, roundToHalf4 } from './half';
import { dot } from './simd';

/**
 * Causal grouped-query attention over the paged f16 cache. Token t attends to positions
 * 0..positions[t] of its sequence, found through that sequence's row of blockTables. Each key
 * and value row is converted from f16 once per position and serves every query head of its
 * group. As in llama.cpp (ggml's mul_mat with f16 operands), q is rounded to f16 before q·k,
 * and the softmax weights are rounded to f16 before they weigh v.
 *
 * The work is n · numKvHeads units (a token and one KV head's group of query heads); a call does
 * units [unitStart, unitEnd), so that threads can share one attention.
 *
 * `scratch` holds, in f32: the scores of every head of a group over the context
 * [group, maxContext], the group's rounded queries [group, headDim], and one converted key or
 * value row [headDim].
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
  maxContext: i32,
  unitStart: i32,
  unitEnd: i32,
  scratch: usize,
): void {
  const group = numHeads / numKvHeads;
  const kvDim = numKvHeads * headDim;
  const scale = f32(1) / Mathf.sqrt(f32(headDim));
  const vecDim = headDim & ~3;
  const headBytes = <usize>headDim << 2;
  const scores = scratch;
  const qs = scores + ((<usize>group * <usize>maxContext) << 2);
  const row = qs + <usize>group * headBytes;
  for (let unit: i32 = unitStart; unit < unitEnd; unit++) {
    const t = unit / numKvHeads;
    const g = unit % numKvHeads;
    const table = blockTables + ((<usize>load<i32>(tokenSeq + (<usize>t << 2)) * <usize>maxBlocksPerSeq) << 2);
    const contextLen = load<i32>(positions + (<usize>t << 2)) + 1;
    {
      const kvOffset = (<usize>(g * headDim)) << 1;
      const firstHead = g * group;
      // the group's queries, rounded to f16
      for (let h: i32 = 0; h < group; h++) {
        const src = q + ((<usize>(t * numHeads + firstHead + h) * <usize>headDim) << 2);
        const dst = qs + <usize>h * headBytes;
        for (let i: i32 = 0; i < vecDim; i += 4) v128.store(dst + (<usize>i << 2), roundToHalf4(v128.load(src + (<usize>i << 2))));
        for (let i: i32 = vecDim; i < headDim; i++) store<f32>(dst + (<usize>i << 2), roundToHalf(load<f32>(src + (<usize>i << 2))));
      }
      // scores = q·k / √headDim, block by block
      for (let p: i32 = 0; p < contextLen; p += blockSize) {
        const blockSlot = <usize>load<i32>(table + (<usize>(p / blockSize) << 2)) * <usize>blockSize;
        const end = min(blockSize, contextLen - p);
        for (let j: i32 = 0; j < end; j++) {
          toFloatRow(row, keys + (((blockSlot + <usize>j) * <usize>kvDim) << 1) + kvOffset, headDim);
          for (let h: i32 = 0; h < group; h++) {
            store<f32>(scores + ((<usize>h * <usize>maxContext + <usize>(p + j)) << 2), dot(qs + <usize>h * headBytes, row, headDim) * scale);
          }
        }
      }
      // softmax per head, weights rounded to f16
      for (let h: i32 = 0; h < group; h++) {
        const s = scores + ((<usize>h * <usize>maxContext) << 2);
        let max = -Infinity as f32;
        for (let p: i32 = 0; p < contextLen; p++) max = Mathf.max(max, load<f32>(s + (<usize>p << 2)));
        let sum: f32 = 0;
        for (let p: i32 = 0; p < contextLen; p++) {
          const e = Mathf.exp(load<f32>(s + (<usize>p << 2)) - max);
          store<f32>(s + (<usize>p << 2), e);
          sum += e;
        }
        const inv = f32(1) / sum;
        for (let p: i32 = 0; p < contextLen; p++) store<f32>(s + (<usize>p << 2), roundToHalf(load<f32>(s + (<usize>p << 2)) * inv));
        memory.fill(out + ((<usize>(t * numHeads + firstHead + h) * <usize>headDim) << 2), 0, headBytes);
      }
      // out = Σ_p weight[p] · v[p]
      for (let p: i32 = 0; p < contextLen; p += blockSize) {
        const blockSlot = <usize>load<i32>(table + (<usize>(p / blockSize) << 2)) * <usize>blockSize;
        const end = min(blockSize, contextLen - p);
        for (let j: i32 = 0; j < end; j++) {
          toFloatRow(row, values + (((blockSlot + <usize>j) * <usize>kvDim) << 1) + kvOffset, headDim);
          for (let h: i32 = 0; h < group; h++) {
            const wgt = load<f32>(scores + ((<usize>h * <usize>maxContext + <usize>(p + j)) << 2));
            const o = out + ((<usize>(t * numHeads + firstHead + h) * <usize>headDim) << 2);
            const wv = f32x4.splat(wgt);
            for (let i: i32 = 0; i < vecDim; i += 4) {
              const off = <usize>i << 2;
              v128.store(o + off, f32x4.add(v128.load(o + off), f32x4.mul(wv, v128.load(row + off))));
            }
            for (let i: i32 = vecDim; i < headDim; i++) {
              const off = <usize>i << 2;
              store<f32>(o + off, load<f32>(o + off) + wgt * load<f32>(row + off));
            }
          }
        }
      }
    }
  }
}

/** dst[count] (f32) = the f16 values at src. */
@inline function toFloatRow(dst: usize, src: usize, count: i32): void {
  const vec = count & ~3;
  for (let i: i32 = 0; i < vec; i += 4) v128.store(dst + (<usize>i << 2), halfToFloat4(src + (<usize>i << 1)));
  for (let i: i32 = vec; i < count; i++) store<f32>(dst + (<usize>i << 2), f32x4.extract_lane(halfToFloat4(src + (<usize>i << 1)), 0));
}
