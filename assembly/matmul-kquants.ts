import { halfToFloat } from './half';
import { decodeQ45K, decodeQ6K, Q4_K_BYTES, Q5_K_BYTES, Q6_K_BYTES, QK_K, scalesAndMinsK4 } from './quant-blocks';

/*
 * Matmuls on the K-quants' 4-, 5- and 6-bit weights, on the blocks as they are in the file. As
 * llama.cpp does, the activations are quantized first, to Q8_K (256 values, an f32 scale); here
 * they are kept as 16-bit integers, so that a decoded weight block meets them
 * in i32x4.dot_i16x8_s with no widening per token. Each weight super-block is decoded once into
 * `scratch` (256 scaled i16 values and 8 mins) and then multiplied with every token of a tile of
 * up to TILE tokens, whose activations stay in cache while the rows stream by.
 *
 * Every matmul computes the rows [rowStart, rowEnd) of out[n, rows], so that threads can share
 * one call. `scratch` is SCRATCH_BYTES of this thread's own.
 */
export const TILE: i32 = 32;
const MINS: usize = 512; // 8 i16 mins after the 256 decoded values
const SUMS: usize = 528; // TILE f32 row sums
export const SCRATCH_BYTES: i32 = 528 + 4 * 32;

/**
 * quantize_row_q8_K_ref for x[n, cols]: xq (n·cols i16), xd (one f32 scale per 256 values) and
 * xs (the sum of each 32 quantized values, i16). The value of largest magnitude (the first, on
 * ties) maps to −127; values are rounded to nearest even and capped at 127.
 */
export function quantizeQ8_K(xq: usize, xd: usize, xs: usize, x: usize, n: i32, cols: i32): void {
  const numBlocks = (n * cols) / QK_K;
  for (let b: i32 = 0; b < numBlocks; b++) {
    const xb = x + (<usize>(b * QK_K) << 2);
    let amaxv = f32x4.splat(0);
    for (let j: i32 = 0; j < QK_K; j += 4) amaxv = f32x4.max(amaxv, f32x4.abs(v128.load(xb + (<usize>j << 2))));
    const amax = Mathf.max(Mathf.max(f32x4.extract_lane(amaxv, 0), f32x4.extract_lane(amaxv, 1)), Mathf.max(f32x4.extract_lane(amaxv, 2), f32x4.extract_lane(amaxv, 3)));
    let max: f32 = 0;
    for (let j: i32 = 0; j < QK_K; j++) {
      const v = load<f32>(xb + (<usize>j << 2));
      if (Mathf.abs(v) == amax) {
        max = v;
        break;
      }
    }
    const qb = xq + (<usize>(b * QK_K) << 1);
    if (amax == 0) {
      memory.fill(qb, 0, <usize>QK_K << 1);
      memory.fill(xs + (<usize>(b * 8) << 1), 0, 16);
      store<f32>(xd + (<usize>b << 2), 0);
      continue;
    }
    const iscale: f32 = -127 / max;
    store<f32>(xd + (<usize>b << 2), 1 / iscale);
    const is = f32x4.splat(iscale);
    const cap = i32x4.splat(127);
    for (let j: i32 = 0; j < QK_K; j += 32) {
      let sum = i16x8.splat(0);
      for (let k: i32 = 0; k < 32; k += 8) {
        const p = xb + (<usize>(j + k) << 2);
        const q0 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p), is))), cap);
        const q1 = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 16), is))), cap);
        const q = i16x8.narrow_i32x4_s(q0, q1);
        v128.store(qb + (<usize>(j + k) << 1), q);
        sum = i16x8.add(sum, q);
      }
      const s = i32x4.extadd_pairwise_i16x8_s(sum);
      store<i16>(xs + (<usize>(b * 8 + j / 32) << 1), <i16>(i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3)));
    }
  }
}

/** Σ w[i]·x[i] over `len` i16 values (a multiple of 32), as an exact integer. */
@inline function dotI16(w: usize, x: usize, len: i32): i32 {
  let a0 = i32x4.splat(0);
  let a1 = i32x4.splat(0);
  for (let i: i32 = 0; i < len; i += 32) {
    const o = <usize>i << 1;
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load(w + o), v128.load(x + o)));
    a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load(w + o, 16), v128.load(x + o, 16)));
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load(w + o, 32), v128.load(x + o, 32)));
    a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load(w + o, 48), v128.load(x + o, 48)));
  }
  const a = i32x4.add(a0, a1);
  return i32x4.extract_lane(a, 0) + i32x4.extract_lane(a, 1) + i32x4.extract_lane(a, 2) + i32x4.extract_lane(a, 3);
}

/** Weight types 12 (Q4_K), 13 (Q5_K), 14 (Q6_K): the super-block kernels share one body. */
@inline function matmulK(type: i32, out: usize, xq: usize, xd: usize, xs: usize, w: usize, n: i32, rows: i32, cols: i32, rowStart: i32, rowEnd: i32, scratch: usize): void {
  const blockBytes = type == 12 ? Q4_K_BYTES : type == 13 ? Q5_K_BYTES : Q6_K_BYTES;
  const numBlocks = cols / QK_K;
  const wRow = <usize>numBlocks * blockBytes;
  if (n == 1) {
    for (let r: i32 = rowStart; r < rowEnd; r++) {
      const row = w + <usize>r * wRow;
      store<f32>(out + (<usize>r << 2), type == 14 ? rowDotQ6K(row, xq, xd, numBlocks) : rowDotQ45K(row, xq, xd, xs, numBlocks, type == 13));
    }
    return;
  }
  const sums = scratch + SUMS;
  for (let t0: i32 = 0; t0 < n; t0 += TILE) {
    const tiles = min(TILE, n - t0);
    for (let r: i32 = rowStart; r < rowEnd; r++) {
      memory.fill(sums, 0, <usize>tiles << 2);
      for (let b: i32 = 0; b < numBlocks; b++) {
        const p = w + <usize>r * wRow + <usize>b * blockBytes;
        let d: f32;
        let dmin: f32 = 0;
        if (type == 14) {
          decodeQ6K(p, scratch);
          d = halfToFloat(load<u16>(p + 208));
        } else {
          decodeQ45K(p, scratch, scratch + MINS, type == 13);
          d = halfToFloat(load<u16>(p));
          dmin = halfToFloat(load<u16>(p + 2));
        }
        const mins = type == 14 ? i16x8.splat(0) : v128.load(scratch + MINS);
        for (let k: i32 = 0; k < tiles; k++) {
          const t = t0 + k;
          const dx = load<f32>(xd + (<usize>(t * numBlocks + b) << 2));
          const isum = dotI16(scratch, xq + ((<usize>t * <usize>cols + <usize>(b * QK_K)) << 1), QK_K);
          let s = <f32>isum * (d * dx);
          if (type != 14) {
            const m = i32x4.dot_i16x8_s(mins, v128.load(xs + (<usize>(t * numBlocks + b) << 4)));
            s -= <f32>(i32x4.extract_lane(m, 0) + i32x4.extract_lane(m, 1) + i32x4.extract_lane(m, 2) + i32x4.extract_lane(m, 3)) * (dmin * dx);
          }
          const at = sums + (<usize>k << 2);
          store<f32>(at, load<f32>(at) + s);
        }
      }
      for (let k: i32 = 0; k < tiles; k++) store<f32>(out + ((<usize>(t0 + k) * <usize>rows + <usize>r) << 2), load<f32>(sums + (<usize>k << 2)));
    }
  }
}

export function matmulQ4_K(out: usize, xq: usize, xd: usize, xs: usize, w: usize, n: i32, rows: i32, cols: i32, rowStart: i32, rowEnd: i32, scratch: usize): void {
  matmulK(12, out, xq, xd, xs, w, n, rows, cols, rowStart, rowEnd, scratch);
}

export function matmulQ5_K(out: usize, xq: usize, xd: usize, xs: usize, w: usize, n: i32, rows: i32, cols: i32, rowStart: i32, rowEnd: i32, scratch: usize): void {
  matmulK(13, out, xq, xd, xs, w, n, rows, cols, rowStart, rowEnd, scratch);
}

export function matmulQ6_K(out: usize, xq: usize, xd: usize, xs: usize, w: usize, n: i32, rows: i32, cols: i32, rowStart: i32, rowEnd: i32, scratch: usize): void {
  matmulK(14, out, xq, xd, xs, w, n, rows, cols, rowStart, rowEnd, scratch);
}

/*
 * Single-token matmuls (decode of one sequence): with one token there is nothing to share a
 * decoded block with, so each block is unpacked in registers and meets the activations at once,
 * and each sub-block's scale multiplies its integer sum rather than every weight.
 */

/** Σ of 16 i8 weights (as `bytes`, signed or not) times 16 i16 activations at x, as four i32 lanes. */
@inline export function dot16(bytes: v128, x: usize, signed: bool): v128 {
  const lo = signed ? i16x8.extend_low_i8x16_s(bytes) : i16x8.extend_low_i8x16_u(bytes);
  const hi = signed ? i16x8.extend_high_i8x16_s(bytes) : i16x8.extend_high_i8x16_u(bytes);
  return i32x4.add(i32x4.dot_i16x8_s(lo, v128.load(x)), i32x4.dot_i16x8_s(hi, v128.load(x, 16)));
}

@inline export function hsumI32(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/** The low nibbles of 16 bytes; shifts by constants, on 16-bit lanes (x86 has no 8-bit shifts). */
@inline export function lowNibbles(q: v128): v128 {
  return v128.and(q, i8x16.splat(0x0f));
}

@inline export function highNibbles(q: v128): v128 {
  return v128.and(i16x8.shr_u(q, 4), i8x16.splat(0x0f));
}

/** Bit `bit` of each of 16 bytes moved to bit `to` (both constants once inlined). */
@inline function moveBits(q: v128, mask: i32, bit: i32, to: i32): v128 {
  const m = v128.and(q, i8x16.splat(<i8>mask));
  return to > bit ? i16x8.shl(m, to - bit) : to < bit ? i16x8.shr_u(m, bit - to) : m;
}

/** Sub-blocks 2c and 2c + 1 of a Q4_K/Q5_K super-block, scales smLo and smHi, against 64 activations at x: Σ scale·q·x. */
@inline function pairQ45K(qs: usize, c: i32, qh0: v128, qh1: v128, x: usize, fifthBits: bool, smLo: i32, smHi: i32): v128 {
  const q0 = v128.load(qs + (<usize>c << 5));
  const q1 = v128.load(qs + (<usize>c << 5), 16);
  let lo0 = lowNibbles(q0);
  let lo1 = lowNibbles(q1);
  let hi0 = highNibbles(q0);
  let hi1 = highNibbles(q1);
  if (fifthBits) {
    lo0 = v128.or(lo0, moveBits(qh0, 1 << (2 * c), 2 * c, 4));
    lo1 = v128.or(lo1, moveBits(qh1, 1 << (2 * c), 2 * c, 4));
    hi0 = v128.or(hi0, moveBits(qh0, 1 << (2 * c + 1), 2 * c + 1, 4));
    hi1 = v128.or(hi1, moveBits(qh1, 1 << (2 * c + 1), 2 * c + 1, 4));
  }
  const xc = x + (<usize>c << 7);
  const sLo = i32x4.add(dot16(lo0, xc, false), dot16(lo1, xc + 32, false));
  const sHi = i32x4.add(dot16(hi0, xc + 64, false), dot16(hi1, xc + 96, false));
  return i32x4.add(i32x4.mul(sLo, i32x4.splat(smLo)), i32x4.mul(sHi, i32x4.splat(smHi)));
}

/** Σ min_j · bsum_j over a super-block's 8 sub-blocks: mins from scalesAndMinsK4, bsums (8 i16) at sums. */
@inline function minSum(scalesAndMins: v128, sums: usize): i32 {
  return hsumI32(i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(scalesAndMins), v128.load(sums)));
}

/** One row of a Q4_K (fifthBits false) or Q5_K matrix against one token's Q8_K activations. */
@inline function rowDotQ45K(row: usize, xq: usize, xd: usize, xs: usize, numBlocks: i32, fifthBits: bool): f32 {
  const blockBytes = fifthBits ? Q5_K_BYTES : Q4_K_BYTES;
  let acc = f32x4.splat(0);
  let minAcc: f32 = 0;
  for (let b: i32 = 0; b < numBlocks; b++) {
    const p = row + <usize>b * blockBytes;
    const qs = p + (fifthBits ? 48 : 16);
    const x = xq + (<usize>(b * QK_K) << 1);
    const sums = xs + (<usize>(b * 8) << 1);
    const qh0 = fifthBits ? v128.load(p + 16) : i8x16.splat(0);
    const qh1 = fifthBits ? v128.load(p + 32) : i8x16.splat(0);
    const scales = scalesAndMinsK4(p + 4);
    const isum = i32x4.add(
      i32x4.add(
        pairQ45K(qs, 0, qh0, qh1, x, fifthBits, i8x16.extract_lane_u(scales, 0), i8x16.extract_lane_u(scales, 1)),
        pairQ45K(qs, 1, qh0, qh1, x, fifthBits, i8x16.extract_lane_u(scales, 2), i8x16.extract_lane_u(scales, 3)),
      ),
      i32x4.add(
        pairQ45K(qs, 2, qh0, qh1, x, fifthBits, i8x16.extract_lane_u(scales, 4), i8x16.extract_lane_u(scales, 5)),
        pairQ45K(qs, 3, qh0, qh1, x, fifthBits, i8x16.extract_lane_u(scales, 6), i8x16.extract_lane_u(scales, 7)),
      ),
    );
    const dx = load<f32>(xd + (<usize>b << 2));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(isum), f32x4.splat(halfToFloat(load<u16>(p)) * dx)));
    minAcc += <f32>minSum(scales, sums) * (halfToFloat(load<u16>(p + 2)) * dx);
  }
  return f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3) - minAcc;
}

/** Group g (32 values, two scales) of half of a Q6_K super-block against 32 activations at x. */
@inline function groupQ6K(l0: v128, l1: v128, h0: v128, h1: v128, g: i32, x: usize, sc: usize): v128 {
  const bias = i8x16.splat(32);
  const v0 = i8x16.sub(v128.or(l0, moveBits(h0, 3 << (2 * g), 2 * g, 4)), bias);
  const v1 = i8x16.sub(v128.or(l1, moveBits(h1, 3 << (2 * g), 2 * g, 4)), bias);
  return i32x4.add(
    i32x4.mul(dot16(v0, x, true), i32x4.splat(<i32>load<i8>(sc + <usize>(2 * g)))),
    i32x4.mul(dot16(v1, x + 32, true), i32x4.splat(<i32>load<i8>(sc + <usize>(2 * g + 1)))),
  );
}

/** One row of a Q6_K matrix against one token's Q8_K activations. */
@inline function rowDotQ6K(row: usize, xq: usize, xd: usize, numBlocks: i32): f32 {
  let acc = f32x4.splat(0);
  for (let b: i32 = 0; b < numBlocks; b++) {
    const p = row + <usize>b * Q6_K_BYTES;
    let isum = i32x4.splat(0);
    for (let h: i32 = 0; h < 2; h++) {
      const ql = p + (<usize>h << 6);
      const qh = p + 128 + (<usize>h << 5);
      const sc = p + 192 + (<usize>h << 3);
      const a0 = v128.load(ql);
      const a1 = v128.load(ql, 16);
      const b0 = v128.load(ql, 32);
      const b1 = v128.load(ql, 48);
      const h0 = v128.load(qh);
      const h1 = v128.load(qh, 16);
      const x = xq + (<usize>(b * QK_K + h * 128) << 1);
      isum = i32x4.add(isum, i32x4.add(groupQ6K(lowNibbles(a0), lowNibbles(a1), h0, h1, 0, x, sc), groupQ6K(lowNibbles(b0), lowNibbles(b1), h0, h1, 1, x + 64, sc)));
      isum = i32x4.add(isum, i32x4.add(groupQ6K(highNibbles(a0), highNibbles(a1), h0, h1, 2, x + 128, sc), groupQ6K(highNibbles(b0), highNibbles(b1), h0, h1, 3, x + 192, sc)));
    }
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(isum), f32x4.splat(halfToFloat(load<u16>(p + 208)) * load<f32>(xd + (<usize>b << 2)))));
  }
  return f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
}
