import { floatToHalf, halfToFloat } from './half';
import { hsum } from './simd';

/*
 * Q8_0 weights: blocks of 32 values, an f16 scale then 32 signed bytes (34 bytes). As llama.cpp
 * does, the activations are quantized to the same blocks first (quantizeQ8_0), and each block's
 * dot product is an exact integer sum of byte products (i32x4.dot_i16x8_s on the bytes widened
 * to 16 bits), scaled by both blocks' scales.
 */
const BLOCK: i32 = 32;
const BLOCK_BYTES: usize = 34;

/**
 * Quantizes x[n, cols] into xq (n·cols signed bytes) and xd (n·cols/32 f32 scales), as ggml's
 * x86 quantize_row_q8_0: scale = max|x| / 127 kept as f16, values x · 127/max|x| rounded to
 * nearest even.
 */
export function quantizeQ8_0(xq: usize, xd: usize, x: usize, n: i32, cols: i32): void {
  const numBlocks = (n * cols) / BLOCK;
  for (let b: i32 = 0; b < numBlocks; b++) {
    const xb = x + (<usize>(b * BLOCK) << 2);
    let amax = f32x4.splat(0);
    for (let j: i32 = 0; j < BLOCK; j += 4) amax = f32x4.max(amax, f32x4.abs(v128.load(xb + (<usize>j << 2))));
    const max = Mathf.max(Mathf.max(f32x4.extract_lane(amax, 0), f32x4.extract_lane(amax, 1)), Mathf.max(f32x4.extract_lane(amax, 2), f32x4.extract_lane(amax, 3)));
    store<f32>(xd + (<usize>b << 2), halfToFloat(floatToHalf(max / 127)));
    const id = f32x4.splat(max != 0 ? <f32>127 / max : 0);
    const qb = xq + <usize>(b * BLOCK);
    for (let j: i32 = 0; j < BLOCK; j += 16) {
      const p = xb + (<usize>j << 2);
      const q0 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p), id)));
      const q1 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 16), id)));
      const q2 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 32), id)));
      const q3 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 48), id)));
      v128.store(qb + <usize>j, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
    }
  }
}

/** The 32-byte integer dot product of one weight block and one activation block, as 4 partial sums. */
@inline function blockDot(wq: usize, xq: usize): v128 {
  const w0 = v128.load(wq);
  const w1 = v128.load(wq, 16);
  const x0 = v128.load(xq);
  const x1 = v128.load(xq, 16);
  const p0 = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w0), i16x8.extend_low_i8x16_s(x0));
  const p1 = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w0), i16x8.extend_high_i8x16_s(x0));
  const p2 = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w1), i16x8.extend_low_i8x16_s(x1));
  const p3 = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w1), i16x8.extend_high_i8x16_s(x1));
  return i32x4.add(i32x4.add(p0, p1), i32x4.add(p2, p3));
}

/**
 * out[n, rows] = x · wᵀ for Q8_0 weights w [rows, cols] and activations already quantized by
 * quantizeQ8_0 (xq, xd), rows [rowStart, rowEnd) of out. Two weight rows at a time share each
 * activation block.
 */
export function matmulQ8_0(out: usize, xq: usize, xd: usize, w: usize, n: i32, rows: i32, cols: i32, rowStart: i32, rowEnd: i32): void {
  const numBlocks = cols / BLOCK;
  const wRow = <usize>numBlocks * BLOCK_BYTES;
  for (let t: i32 = 0; t < n; t++) {
    const xqRow = xq + <usize>(t * cols);
    const xdRow = xd + (<usize>(t * numBlocks) << 2);
    let r: i32 = rowStart;
    for (; r + 2 <= rowEnd; r += 2) {
      const w0 = w + <usize>r * wRow;
      const w1 = w0 + wRow;
      let acc0 = f32x4.splat(0);
      let acc1 = f32x4.splat(0);
      for (let b: i32 = 0; b < numBlocks; b++) {
        const wb = <usize>b * BLOCK_BYTES;
        const xb = xqRow + <usize>(b * BLOCK);
        const dx = load<f32>(xdRow + (<usize>b << 2));
        acc0 = f32x4.add(acc0, f32x4.mul(f32x4.convert_i32x4_s(blockDot(w0 + wb + 2, xb)), f32x4.splat(halfToFloat(load<u16>(w0 + wb)) * dx)));
        acc1 = f32x4.add(acc1, f32x4.mul(f32x4.convert_i32x4_s(blockDot(w1 + wb + 2, xb)), f32x4.splat(halfToFloat(load<u16>(w1 + wb)) * dx)));
      }
      const o = out + ((<usize>t * <usize>rows + <usize>r) << 2);
      store<f32>(o, hsum(acc0));
      store<f32>(o, hsum(acc1), 4);
    }
    for (; r < rowEnd; r++) {
      const w0 = w + <usize>r * wRow;
      let acc = f32x4.splat(0);
      for (let b: i32 = 0; b < numBlocks; b++) {
        const wb = <usize>b * BLOCK_BYTES;
        const dx = load<f32>(xdRow + (<usize>b << 2));
        acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(blockDot(w0 + wb + 2, xqRow + <usize>(b * BLOCK))), f32x4.splat(halfToFloat(load<u16>(w0 + wb)) * dx)));
      }
      store<f32>(out + ((<usize>t * <usize>rows + <usize>r) << 2), hsum(acc));
    }
  }
}
