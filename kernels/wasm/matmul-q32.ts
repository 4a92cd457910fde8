import { floatToHalf, halfToFloat } from './half';
import { TILE } from './matmul-kquants';
import { nibbles } from './quant-blocks';
import { Q4_0_BYTES, Q4_1_BYTES, Q5_0_BYTES, Q5_1_BYTES, Q8_0_BYTES, TYPE_Q4_0 as Q4_0, TYPE_Q4_1 as Q4_1, TYPE_Q5_0 as Q5_0, TYPE_Q5_1 as Q5_1, TYPE_Q8_0 as Q8_0, MatmulArgs } from './tensor-types.generated';

/*
 * Matmuls on weights in blocks of 32 values with an f16 scale d (ggml-common.h): Q8_0 (32 signed
 * bytes), Q4_0 and Q5_0 (4 or 5 bits, q − 8 or q − 16), Q4_1 and Q5_1 (4 or 5 bits and an f16
 * offset m: d·q + m). As llama.cpp does, the activations are quantized to Q8_0 blocks first
 * (quantizeQ8_0; Q8_1 for the offset types is the same values and each block's sum), kept here as
 * 16-bit integers so that weights meet them in i32x4.dot_i16x8_s with no widening per token.
 *
 * One token: a row at a time, each block unpacked in registers (more rows at once measured
 * slower: the scales' conversions and the registers they take cost more than the shared loads).
 * Several tokens: eight blocks of a row are unpacked into `scratch` once and serve every token
 * of a tile of up to TILE tokens. Each call computes rows [rowStart, rowEnd).
 */
const GROUP: i32 = 8; // blocks unpacked at once
const SCALES: usize = 512; // GROUP (d, m) f32 pairs after the 256 unpacked values
const ACCUMULATORS: usize = 576; // TILE f32x4 sums
export const SCRATCH_BYTES_32: i32 = 576 + 16 * 32;

// `kind` below is the weights' ggml type id
@inline function blockBytes(kind: i32): usize {
  return kind == Q8_0 ? Q8_0_BYTES : kind == Q4_0 ? Q4_0_BYTES : kind == Q4_1 ? Q4_1_BYTES : kind == Q5_0 ? Q5_0_BYTES : Q5_1_BYTES;
}

@inline function hasOffset(kind: i32): bool {
  return kind == Q4_1 || kind == Q5_1;
}

/**
 * x[n, cols] to Q8_0 blocks as the x86 quantize_row_q8_0 makes them: scale = max|x| / 127 kept
 * as f16, values x · 127/max|x| rounded to nearest even; into xq (n·cols i16), xd (one f32 per
 * 32 values) and xs (d · Σq per block, with d before its rounding, then rounded to f16, as the
 * x86 quantize_row_q8_1 computes it: a weight's offset m meets it in a large sum that cancels,
 * so its last bit shows).
 */
export function quantizeQ8_0(xq: usize, xd: usize, xs: usize, x: usize, n: i32, cols: i32): void {
  const numBlocks = (n * cols) / 32;
  for (let b: i32 = 0; b < numBlocks; b++) {
    const xb = x + (<usize>(b * 32) << 2);
    let amax = f32x4.splat(0);
    for (let j: i32 = 0; j < 32; j += 4) amax = f32x4.max(amax, f32x4.abs(v128.load(xb + (<usize>j << 2))));
    const max = Mathf.max(Mathf.max(f32x4.extract_lane(amax, 0), f32x4.extract_lane(amax, 1)), Mathf.max(f32x4.extract_lane(amax, 2), f32x4.extract_lane(amax, 3)));
    const d: f32 = max / 127;
    store<f32>(xd + (<usize>b << 2), halfToFloat(floatToHalf(d)));
    const id = f32x4.splat(max != 0 ? <f32>127 / max : 0);
    let sum = i16x8.splat(0);
    for (let j: i32 = 0; j < 32; j += 8) {
      const p = xb + (<usize>j << 2);
      const q0 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p), id)));
      const q1 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 16), id)));
      const q = i16x8.narrow_i32x4_s(q0, q1);
      v128.store(xq + (<usize>(b * 32 + j) << 1), q);
      sum = i16x8.add(sum, q);
    }
    const s = i32x4.extadd_pairwise_i16x8_s(sum);
    const total = i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
    store<f32>(xs + (<usize>b << 2), halfToFloat(floatToHalf(d * <f32>total)));
  }
}

/** 16 bytes' fifth bits from 16 bits of qh (byte `first` and the next) as 0x10 where set. */
@inline function fifthBits(qh: u32, first: i32): v128 {
  const bytes = i8x16.swizzle(i32x4.splat(qh), first == 0 ? i8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1) : i8x16(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
  const bit = i8x16(1, 2, 4, 8, 16, 32, 64, <i8>128, 1, 2, 4, 8, 16, 32, 64, <i8>128);
  return v128.and(i8x16.eq(v128.and(bytes, bit), bit), i8x16.splat(0x10));
}

/** The first 16 values of the block at p as signed bytes (`half` 0), or the last 16 (`half` 1). */
@inline function unpack(kind: i32, p: usize, half: i32): v128 {
  if (kind == Q8_0) return v128.load(p + 2 + <usize>(half << 4));
  const qs = v128.load(p + (kind == Q4_0 ? 2 : kind == Q4_1 ? 4 : kind == Q5_0 ? 6 : 8));
  let q = nibbles(qs, half << 2);
  if (kind == Q5_0 || kind == Q5_1) q = v128.or(q, fifthBits(load<u32>(p + (kind == Q5_0 ? 2 : 4)), half << 1));
  if (kind == Q4_0) q = i8x16.sub(q, i8x16.splat(8));
  if (kind == Q5_0) q = i8x16.sub(q, i8x16.splat(16));
  return q;
}

/** Σ of one block's 32 weights (at p) times 32 i16 activations at x, as four i32 lanes. */
@inline function blockDot(kind: i32, p: usize, x: usize): v128 {
  const first = unpack(kind, p, 0);
  const second = unpack(kind, p, 1);
  return i32x4.add(
    i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(first), v128.load(x)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(first), v128.load(x, 16))),
    i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(second), v128.load(x, 32)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(second), v128.load(x, 48))),
  );
}

@inline function hsumF32(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

@inline function matmul32(kind: i32, out: usize, xq: usize, xd: usize, xs: usize, w: usize, n: i32, rows: i32, cols: i32, rowStart: i32, rowEnd: i32, scratch: usize): void {
  const size = blockBytes(kind);
  const numBlocks = cols / 32;
  const wRow = <usize>numBlocks * size;
  if (n == 1) {
    for (let r = rowStart; r < rowEnd; r++) {
      const row = w + <usize>r * wRow;
      let acc = f32x4.splat(0);
      let offsets: f32 = 0;
      for (let b: i32 = 0; b < numBlocks; b++) {
        const p = row + <usize>b * size;
        const d = halfToFloat(load<u16>(p)) * load<f32>(xd + (<usize>b << 2));
        acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(blockDot(kind, p, xq + (<usize>(b * 32) << 1))), f32x4.splat(d)));
        if (hasOffset(kind)) offsets += halfToFloat(load<u16>(p + 2)) * load<f32>(xs + (<usize>b << 2));
      }
      store<f32>(out + (<usize>r << 2), hsumF32(acc) + offsets);
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
        // unpack `count` blocks of the row to i16, and their scales and offsets
        for (let i: i32 = 0; i < count; i++) {
          const p = w + <usize>r * wRow + <usize>(g + i) * size;
          const dst = scratch + (<usize>i << 6);
          const first = unpack(kind, p, 0);
          const second = unpack(kind, p, 1);
          v128.store(dst, i16x8.extend_low_i8x16_s(first));
          v128.store(dst, i16x8.extend_high_i8x16_s(first), 16);
          v128.store(dst, i16x8.extend_low_i8x16_s(second), 32);
          v128.store(dst, i16x8.extend_high_i8x16_s(second), 48);
          store<f32>(scratch + SCALES + (<usize>i << 3), halfToFloat(load<u16>(p)));
          store<f32>(scratch + SCALES + (<usize>i << 3), hasOffset(kind) ? halfToFloat(load<u16>(p + 2)) : 0, 4);
        }
        for (let k: i32 = 0; k < tiles; k++) {
          const t = t0 + k;
          const x = xq + ((<usize>t * <usize>cols + <usize>(g * 32)) << 1);
          const block = <usize>(t * numBlocks + g) << 2;
          let acc = v128.load(accumulators + (<usize>k << 4));
          for (let i: i32 = 0; i < count; i++) {
            const wv = scratch + (<usize>i << 6);
            const xv = x + (<usize>i << 6);
            const s = i32x4.add(
              i32x4.add(i32x4.dot_i16x8_s(v128.load(wv), v128.load(xv)), i32x4.dot_i16x8_s(v128.load(wv, 16), v128.load(xv, 16))),
              i32x4.add(i32x4.dot_i16x8_s(v128.load(wv, 32), v128.load(xv, 32)), i32x4.dot_i16x8_s(v128.load(wv, 48), v128.load(xv, 48))),
            );
            const scale = scratch + SCALES + (<usize>i << 3);
            acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(load<f32>(scale) * load<f32>(xd + block + (<usize>i << 2)))));
            if (hasOffset(kind)) acc = f32x4.add(acc, f32x4(load<f32>(scale, 4) * load<f32>(xs + block + (<usize>i << 2)), 0, 0, 0));
          }
          v128.store(accumulators + (<usize>k << 4), acc);
        }
      }
      for (let k: i32 = 0; k < tiles; k++) store<f32>(out + ((<usize>(t0 + k) * <usize>rows + <usize>r) << 2), hsumF32(v128.load(accumulators + (<usize>k << 4))));
    }
  }
}

/** Runs `kind` (a ggml type id) on the arguments of a MatmulArgs block. */
@inline function matmul32Block(kind: i32, args: usize, rowStart: i32, rowEnd: i32, scratch: usize): void {
  const a = changetype<MatmulArgs>(args);
  matmul32(kind, <usize>a.out, <usize>a.x, <usize>a.xd, <usize>a.xs, <usize>a.w, a.n, a.rows, a.cols, rowStart, rowEnd, scratch);
}

export function matmulQ8_0(args: usize, rowStart: i32, rowEnd: i32, scratch: usize): void {
  matmul32Block(Q8_0, args, rowStart, rowEnd, scratch);
}

export function matmulQ4_0(args: usize, rowStart: i32, rowEnd: i32, scratch: usize): void {
  matmul32Block(Q4_0, args, rowStart, rowEnd, scratch);
}

export function matmulQ4_1(args: usize, rowStart: i32, rowEnd: i32, scratch: usize): void {
  matmul32Block(Q4_1, args, rowStart, rowEnd, scratch);
}

export function matmulQ5_0(args: usize, rowStart: i32, rowEnd: i32, scratch: usize): void {
  matmul32Block(Q5_0, args, rowStart, rowEnd, scratch);
}

export function matmulQ5_1(args: usize, rowStart: i32, rowEnd: i32, scratch: usize): void {
  matmul32Block(Q5_1, args, rowStart, rowEnd, scratch);
}
