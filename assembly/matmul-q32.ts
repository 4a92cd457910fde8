import { floatToHalf, halfToFloat } from './half';
import { lowNibbles, highNibbles, TILE } from './matmul-kquants';

/*
 * Matmuls on weights in blocks of 32 values with an f16 scale: Q8_0 (34 bytes: the scale, 32
 * signed bytes) and Q4_0 (18 bytes: the scale, 16 bytes of 4-bit values q − 8). As llama.cpp
 * does, the activations are quantized to Q8_0 blocks first (quantizeQ8_0), kept here as 16-bit
 * integers so that weights meet them in i32x4.dot_i16x8_s with no widening per token.
 *
 * One token: a row at a time, each block unpacked in registers (more rows at once measured
 * slower: the scales' conversions and the registers they take cost more than the shared loads). Several tokens: eight blocks of a row are unpacked into `scratch` once and
 * serve every token of a tile of up to TILE tokens. Each call computes rows [rowStart, rowEnd).
 */
const Q8_0_BYTES: usize = 34;
const Q4_0_BYTES: usize = 18;
const GROUP: i32 = 8; // blocks unpacked at once
const SCALES: usize = 512; // GROUP f32 weight scales after the 256 unpacked values
const ACCUMULATORS: usize = 544; // TILE f32x4 sums
export const SCRATCH_BYTES_32: i32 = 544 + 16 * 32;

/**
 * x[n, cols] to Q8_0 blocks as the x86 quantize_row_q8_0 makes them: scale = max|x| / 127 kept
 * as f16, values x · 127/max|x| rounded to nearest even; into xq (n·cols i16) and xd (one f32
 * per 32 values).
 */
export function quantizeQ8_0(xq: usize, xd: usize, x: usize, n: i32, cols: i32): void {
  const numBlocks = (n * cols) / 32;
  for (let b: i32 = 0; b < numBlocks; b++) {
    const xb = x + (<usize>(b * 32) << 2);
    let amax = f32x4.splat(0);
    for (let j: i32 = 0; j < 32; j += 4) amax = f32x4.max(amax, f32x4.abs(v128.load(xb + (<usize>j << 2))));
    const max = Mathf.max(Mathf.max(f32x4.extract_lane(amax, 0), f32x4.extract_lane(amax, 1)), Mathf.max(f32x4.extract_lane(amax, 2), f32x4.extract_lane(amax, 3)));
    store<f32>(xd + (<usize>b << 2), halfToFloat(floatToHalf(max / 127)));
    const id = f32x4.splat(max != 0 ? <f32>127 / max : 0);
    for (let j: i32 = 0; j < 32; j += 8) {
      const p = xb + (<usize>j << 2);
      const q0 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p), id)));
      const q1 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 16), id)));
      v128.store(xq + (<usize>(b * 32 + j) << 1), i16x8.narrow_i32x4_s(q0, q1));
    }
  }
}

/** The 32 values of a Q8_0 (q4 false) or Q4_0 block at p as two vectors of 16 signed bytes, through `second`. */
@inline function blockBytes(p: usize, q4: bool, second: usize): v128 {
  if (!q4) {
    v128.store(second, v128.load(p + 18));
    return v128.load(p + 2);
  }
  const q = v128.load(p + 2);
  const eight = i8x16.splat(8);
  v128.store(second, i8x16.sub(highNibbles(q), eight));
  return i8x16.sub(lowNibbles(q), eight);
}

/** Σ of one block's 32 weights (at p) times 32 i16 activations at x, as four i32 lanes. */
@inline function blockDot(p: usize, q4: bool, x: usize): v128 {
  let first: v128;
  let second: v128;
  if (q4) {
    const q = v128.load(p + 2);
    const eight = i8x16.splat(8);
    first = i8x16.sub(lowNibbles(q), eight);
    second = i8x16.sub(highNibbles(q), eight);
  } else {
    first = v128.load(p + 2);
    second = v128.load(p + 18);
  }
  return i32x4.add(
    i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(first), v128.load(x)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(first), v128.load(x, 16))),
    i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(second), v128.load(x, 32)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(second), v128.load(x, 48))),
  );
}

@inline function hsumF32(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

@inline function matmul32(q4: bool, out: usize, xq: usize, xd: usize, w: usize, n: i32, rows: i32, cols: i32, rowStart: i32, rowEnd: i32, scratch: usize): void {
  const blockSize = q4 ? Q4_0_BYTES : Q8_0_BYTES;
  const numBlocks = cols / 32;
  const wRow = <usize>numBlocks * blockSize;
  if (n == 1) {
    for (let r = rowStart; r < rowEnd; r++) {
      const row = w + <usize>r * wRow;
      let acc = f32x4.splat(0);
      for (let b: i32 = 0; b < numBlocks; b++) {
        const p = row + <usize>b * blockSize;
        const d = halfToFloat(load<u16>(p)) * load<f32>(xd + (<usize>b << 2));
        acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(blockDot(p, q4, xq + (<usize>(b * 32) << 1))), f32x4.splat(d)));
      }
      store<f32>(out + (<usize>r << 2), hsumF32(acc));
    }
    return;
  }
  const accumulators = scratch + ACCUMULATORS;
  for (let t0: i32 = 0; t0 < n; t0 += TILE) {
    const tiles = min(TILE, n - t0);
    for (let r: i32 = rowStart; r < rowEnd; r++) {
      memory.fill(accumulators, 0, <usize>tiles << 4);
      for (let g: i32 = 0; g < numBlocks; g += GROUP) {
        const count = min(GROUP, numBlocks - g);
        // unpack `count` blocks of the row to i16, and their scales
        for (let i: i32 = 0; i < count; i++) {
          const p = w + <usize>r * wRow + <usize>(g + i) * blockSize;
          const dst = scratch + (<usize>i << 6);
          const first = blockBytes(p, q4, dst + 32);
          const second = v128.load(dst + 32);
          v128.store(dst, i16x8.extend_low_i8x16_s(first));
          v128.store(dst, i16x8.extend_high_i8x16_s(first), 16);
          v128.store(dst, i16x8.extend_low_i8x16_s(second), 32);
          v128.store(dst, i16x8.extend_high_i8x16_s(second), 48);
          store<f32>(scratch + SCALES + (<usize>i << 2), halfToFloat(load<u16>(p)));
        }
        for (let k: i32 = 0; k < tiles; k++) {
          const t = t0 + k;
          const x = xq + ((<usize>t * <usize>cols + <usize>(g * 32)) << 1);
          const dx = xd + (<usize>(t * numBlocks + g) << 2);
          let acc = v128.load(accumulators + (<usize>k << 4));
          for (let i: i32 = 0; i < count; i++) {
            const wv = scratch + (<usize>i << 6);
            const xv = x + (<usize>i << 6);
            const s = i32x4.add(
              i32x4.add(i32x4.dot_i16x8_s(v128.load(wv), v128.load(xv)), i32x4.dot_i16x8_s(v128.load(wv, 16), v128.load(xv, 16))),
              i32x4.add(i32x4.dot_i16x8_s(v128.load(wv, 32), v128.load(xv, 32)), i32x4.dot_i16x8_s(v128.load(wv, 48), v128.load(xv, 48))),
            );
            const d = load<f32>(scratch + SCALES + (<usize>i << 2)) * load<f32>(dx + (<usize>i << 2));
            acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(d)));
          }
          v128.store(accumulators + (<usize>k << 4), acc);
        }
      }
      for (let k: i32 = 0; k < tiles; k++) store<f32>(out + ((<usize>(t0 + k) * <usize>rows + <usize>r) << 2), hsumF32(v128.load(accumulators + (<usize>k << 4))));
    }
  }
}

export function matmulQ8_0(out: usize, xq: usize, xd: usize, w: usize, n: i32, rows: i32, cols: i32, rowStart: i32, rowEnd: i32, scratch: usize): void {
  matmul32(false, out, xq, xd, w, n, rows, cols, rowStart, rowEnd, scratch);
}

export function matmulQ4_0(out: usize, xq: usize, xd: usize, w: usize, n: i32, rows: i32, cols: i32, rowStart: i32, rowEnd: i32, scratch: usize): void {
  matmul32(true, out, xq, xd, w, n, rows, cols, rowStart, rowEnd, scratch);
}
