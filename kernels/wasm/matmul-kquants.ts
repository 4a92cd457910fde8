import { halfToFloat } from './half';
import { decodeQ45K, decodeQ6K, QK_K, scalesAndMinsK4, valuesQ45K, valuesQ6K } from './quant-blocks';
import { Q4_K_BYTES, Q5_K_BYTES, Q6_K_BYTES, TYPE_Q4_K, TYPE_Q5_K, TYPE_Q6_K, MatmulArgs } from './tensor-types.generated';

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
const MINS: usize = 512; // the block's 8 scales and 8 mins (bytes) after the 256 decoded values
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

/** Weights of Q4_K, Q5_K and Q6_K (`type` their ggml id): the super-block kernels share one body. */
@inline function matmulK(type: i32, out: usize, xq: usize, xd: usize, xs: usize, w: usize, n: i32, rows: i32, cols: i32, rowStart: i32, rowEnd: i32, scratch: usize): void {
  const blockBytes = type == TYPE_Q4_K ? Q4_K_BYTES : type == TYPE_Q5_K ? Q5_K_BYTES : Q6_K_BYTES;
  const numBlocks = cols / QK_K;
  const wRow = <usize>numBlocks * blockBytes;
  if (n == 1) {
    for (let r: i32 = rowStart; r < rowEnd; r++) {
      const row = w + <usize>r * wRow;
      store<f32>(out + (<usize>r << 2), type == TYPE_Q6_K ? rowDotQ6K(row, xq, xd, numBlocks) : rowDotQ45K(row, xq, xd, xs, numBlocks, type == TYPE_Q5_K, scratch + MINS));
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
        if (type == TYPE_Q6_K) {
          decodeQ6K(p, scratch);
          d = halfToFloat(load<u16>(p + 208));
        } else {
          decodeQ45K(p, scratch, scratch + MINS, type == TYPE_Q5_K);
          d = halfToFloat(load<u16>(p));
          dmin = halfToFloat(load<u16>(p + 2));
        }
        const mins = type == TYPE_Q6_K ? i16x8.splat(0) : i16x8.extend_high_i8x16_u(v128.load(scratch + MINS));
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

/** Runs the K-quant kernel of `type` (a ggml type id) on the arguments of a MatmulArgs block. */
@inline function matmulKBlock(type: i32, args: usize, rowStart: i32, rowEnd: i32, scratch: usize): void {
  const a = changetype<MatmulArgs>(args);
  matmulK(type, <usize>a.out, <usize>a.x, <usize>a.xd, <usize>a.xs, <usize>a.w, a.n, a.rows, a.cols, rowStart, rowEnd, scratch);
}

export function matmulQ4_K(args: usize, rowStart: i32, rowEnd: i32, scratch: usize): void {
  matmulKBlock(TYPE_Q4_K, args, rowStart, rowEnd, scratch);
}

export function matmulQ5_K(args: usize, rowStart: i32, rowEnd: i32, scratch: usize): void {
  matmulKBlock(TYPE_Q5_K, args, rowStart, rowEnd, scratch);
}

export function matmulQ6_K(args: usize, rowStart: i32, rowEnd: i32, scratch: usize): void {
  matmulKBlock(TYPE_Q6_K, args, rowStart, rowEnd, scratch);
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

/** Σ min_j · bsum_j over a super-block's 8 sub-blocks: mins from scalesAndMinsK4, bsums (8 i16) at sums. */
@inline function minSum(scalesAndMins: v128, sums: usize): i32 {
  return hsumI32(i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(scalesAndMins), v128.load(sums)));
}

/**
 * One row of a Q4_K (fifthBits false) or Q5_K matrix against one token's Q8_K activations;
 * `scales` is 16 bytes of scratch for the block's scales and mins.
 */
@inline function rowDotQ45K(row: usize, xq: usize, xd: usize, xs: usize, numBlocks: i32, fifthBits: bool, scales: usize): f32 {
  const blockBytes = fifthBits ? Q5_K_BYTES : Q4_K_BYTES;
  let acc = f32x4.splat(0);
  let minAcc: f32 = 0;
  for (let b: i32 = 0; b < numBlocks; b++) {
    const p = row + <usize>b * blockBytes;
    const x = xq + (<usize>(b * QK_K) << 1);
    const scalesAndMins = scalesAndMinsK4(p + 4);
    v128.store(scales, scalesAndMins);
    let isum = i32x4.splat(0);
    for (let j: i32 = 0; j < 8; j++) {
      const xj = x + (<usize>j << 6);
      const s = i32x4.add(dot16(valuesQ45K(p, j, 0, fifthBits), xj, false), dot16(valuesQ45K(p, j, 1, fifthBits), xj + 32, false));
      isum = i32x4.add(isum, i32x4.mul(s, i32x4.splat(<i32>load<u8>(scales + <usize>j))));
    }
    const dx = load<f32>(xd + (<usize>b << 2));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(isum), f32x4.splat(halfToFloat(load<u16>(p)) * dx)));
    minAcc += <f32>minSum(scalesAndMins, xs + (<usize>(b * 8) << 1)) * (halfToFloat(load<u16>(p + 2)) * dx);
  }
  return f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3) - minAcc;
}

/** One row of a Q6_K matrix against one token's Q8_K activations. */
@inline function rowDotQ6K(row: usize, xq: usize, xd: usize, numBlocks: i32): f32 {
  let acc = f32x4.splat(0);
  for (let b: i32 = 0; b < numBlocks; b++) {
    const p = row + <usize>b * Q6_K_BYTES;
    let isum = i32x4.splat(0);
    for (let h: i32 = 0; h < 2; h++) {
      const sc = p + 192 + (<usize>h << 3);
      for (let g: i32 = 0; g < 4; g++) {
        const x = xq + (<usize>(b * QK_K + h * 128 + g * 32) << 1);
        isum = i32x4.add(isum, i32x4.mul(dot16(valuesQ6K(p, h, g, 0), x, true), i32x4.splat(<i32>load<i8>(sc + <usize>(2 * g)))));
        isum = i32x4.add(isum, i32x4.mul(dot16(valuesQ6K(p, h, g, 1), x + 32, true), i32x4.splat(<i32>load<i8>(sc + <usize>(2 * g + 1)))));
      }
    }
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(isum), f32x4.splat(halfToFloat(load<u16>(p + 208)) * load<f32>(xd + (<usize>b << 2)))));
  }
  return f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
}
