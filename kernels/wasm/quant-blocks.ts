import { halfToFloat } from './half';
import { Q4_0_BYTES, Q4_1_BYTES, Q4_K_BYTES, Q5_0_BYTES, Q5_1_BYTES, Q5_K_BYTES, Q6_K_BYTES, TYPE_Q4_1, TYPE_Q5_0, TYPE_Q5_1 } from './tensor-types.generated';

/*
 * Unpacking llama.cpp's 4-, 5- and 6-bit blocks (ggml-common.h; see lib/model/quant/ for the
 * layouts in words). Two forms:
 * - values*: 16 of a super-block's values as bytes, for kernels that meet them in registers;
 * - decode*: a 256-value super-block as 16-bit integers already multiplied by their sub-block's
 *   scale, ready for i32x4.dot_i16x8_s against 16-bit activations, plus the Q4_K/Q5_K mins;
 * - dequantize*: f32 values exactly as dequantize_row_* computes them, for embedding lookups.
 */
export const QK_K: i32 = 256;

/** get_scale_min_k4: sub-block j's 6-bit scale (low 16 bits) and min (high 16 bits). */
@inline export function scaleMinK4(j: i32, q: usize): u32 {
  if (j < 4) return (<u32>load<u8>(q + <usize>j) & 63) | ((<u32>load<u8>(q + <usize>j + 4) & 63) << 16);
  const sc = (<u32>load<u8>(q + <usize>j + 4) & 0xf) | ((<u32>load<u8>(q + <usize>j - 4) >> 6) << 4);
  const m = (<u32>load<u8>(q + <usize>j + 4) >> 4) | ((<u32>load<u8>(q + <usize>j) >> 6) << 4);
  return sc | (m << 16);
}

/**
 * All of a Q4_K/Q5_K super-block's 6-bit scales and mins at once, from its 12 packed bytes at q:
 * bytes 0–7 the scales of sub-blocks 0–7, bytes 8–15 their mins (get_scale_min_k4 for j = 0…7).
 * Reads 16 bytes from q; the 4 past the scales are quants of the same block.
 */
@inline export function scalesAndMinsK4(q: usize): v128 {
  const packed = v128.load(q);
  const Z: u8 = 0x80; // a swizzle index that yields 0
  // scales: j < 4: q[j] & 63; j ≥ 4: (q[j + 4] & 15) | (q[j − 4] >> 6) << 4
  // mins:   j < 4: q[j + 4] & 63; j ≥ 4: (q[j + 4] >> 4) | (q[j] >> 6) << 4
  const low = i8x16.swizzle(packed, i8x16(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
  const lowMask = i8x16(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0);
  const nibbleHigh = v128.and(i16x8.shr_u(low, 4), i8x16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15));
  const top = i8x16.swizzle(packed, i8x16(Z, Z, Z, Z, 0, 1, 2, 3, Z, Z, Z, Z, 4, 5, 6, 7));
  const topBits = i16x8.shr_u(v128.and(top, i8x16.splat(<i8>0xc0)), 2);
  return v128.or(v128.or(v128.and(low, lowMask), nibbleHigh), topBits);
}

/** Stores 16 unsigned (or signed) bytes as 16 i16 values times `scale` at dst. */
@inline function storeScaled(dst: usize, bytes: v128, scale: v128, signed: bool): void {
  const lo = signed ? i16x8.extend_low_i8x16_s(bytes) : i16x8.extend_low_i8x16_u(bytes);
  const hi = signed ? i16x8.extend_high_i8x16_s(bytes) : i16x8.extend_high_i8x16_u(bytes);
  v128.store(dst, i16x8.mul(lo, scale));
  v128.store(dst, i16x8.mul(hi, scale), 16);
}

/** The low (shift 0) or high (shift 4) nibbles of 16 bytes; 16-bit shifts, as x86 has no 8-bit ones. */
@inline export function nibbles(q: v128, shift: i32): v128 {
  return v128.and(i16x8.shr_u(q, shift), i8x16.splat(0x0f));
}

/** The bits under `mask` from bit `bit` of each of 16 bytes, moved to bit 4 (they never cross a byte). */
@inline function bitsTo4(q: v128, bit: i32, mask: i8): v128 {
  return i16x8.shl(v128.and(i16x8.shr_u(q, bit), i8x16.splat(mask)), 4);
}

/**
 * 16 values of sub-block j (32 values) of the Q4_K (0–15) or Q5_K (0–31) super-block at p: its
 * first (half 0) or last 16. Sub-blocks 2c and 2c + 1 share 32 bytes, low and high nibbles.
 */
@inline export function valuesQ45K(p: usize, j: i32, half: i32, fifthBits: bool): v128 {
  const qs = p + (fifthBits ? 48 : 16) + (<usize>(j >> 1) << 5) + (<usize>half << 4);
  const q = nibbles(v128.load(qs), (j & 1) << 2);
  return fifthBits ? v128.or(q, bitsTo4(v128.load(p + 16 + (<usize>half << 4)), j, 1)) : q;
}

/**
 * 16 signed values (−32…31) of the Q6_K super-block at p: half h (128 values), group g (32 values:
 * low nibbles of ql[0…31], of ql[32…63], then their high nibbles; 2 bits each from qh at bit 2g),
 * its first (half 0) or last 16.
 */
@inline export function valuesQ6K(p: usize, h: i32, g: i32, half: i32): v128 {
  const ql = v128.load(p + (<usize>h << 6) + (<usize>(g & 1) << 5) + (<usize>half << 4));
  const qh = v128.load(p + 128 + (<usize>h << 5) + (<usize>half << 4));
  return i8x16.sub(v128.or(nibbles(ql, (g >> 1) << 2), bitsTo4(qh, 2 * g, 3)), i8x16.splat(32));
}

/**
 * A Q4_K (fifthBits false) or Q5_K super-block at `p` into dst (256 i16: q · scale), and its
 * scales and mins (scalesAndMinsK4) into the 16 bytes at scalesAndMins.
 */
@inline export function decodeQ45K(p: usize, dst: usize, scalesAndMins: usize, fifthBits: bool): void {
  v128.store(scalesAndMins, scalesAndMinsK4(p + 4));
  for (let j: i32 = 0; j < 8; j++) {
    const scale = i16x8.splat(<i16>load<u8>(scalesAndMins + <usize>j));
    const d = dst + (<usize>j << 6);
    storeScaled(d, valuesQ45K(p, j, 0, fifthBits), scale, false);
    storeScaled(d + 32, valuesQ45K(p, j, 1, fifthBits), scale, false);
  }
}

/** A Q6_K super-block at `p` into dst (256 i16: (q − 32) · scale). */
@inline export function decodeQ6K(p: usize, dst: usize): void {
  for (let h: i32 = 0; h < 2; h++) {
    const sc = p + 192 + (<usize>h << 3);
    for (let g: i32 = 0; g < 4; g++) {
      const d = dst + (<usize>((h << 7) + (g << 5)) << 1);
      storeScaled(d, valuesQ6K(p, h, g, 0), i16x8.splat(<i16>load<i8>(sc + <usize>(2 * g))), true);
      storeScaled(d + 32, valuesQ6K(p, h, g, 1), i16x8.splat(<i16>load<i8>(sc + <usize>(2 * g + 1))), true);
    }
  }
}

/** One row of `cols` Q4_K (fifthBits false) or Q5_K values at `row` as f32 at out. */
export function dequantizeRowQ45K(out: usize, row: usize, cols: i32, fifthBits: bool): void {
  const blockBytes = fifthBits ? Q5_K_BYTES : Q4_K_BYTES;
  for (let b: i32 = 0; b < cols / QK_K; b++) {
    const p = row + <usize>b * blockBytes;
    const d = halfToFloat(load<u16>(p));
    const dmin = halfToFloat(load<u16>(p + 2));
    const qs = p + (fifthBits ? 48 : 16);
    for (let j: i32 = 0; j < 8; j++) {
      const sm = scaleMinK4(j, p + 4);
      const d1 = d * <f32>(sm & 0xffff);
      const m1 = dmin * <f32>(sm >> 16);
      const chunk = qs + (<usize>(j >> 1) << 5);
      const o = out + (<usize>(b * QK_K + 32 * j) << 2);
      for (let l: i32 = 0; l < 32; l++) {
        const byte = <i32>load<u8>(chunk + <usize>l);
        let q = j & 1 ? byte >> 4 : byte & 0xf;
        if (fifthBits && (<i32>load<u8>(p + 16 + <usize>l) & (1 << j)) != 0) q += 16;
        store<f32>(o + (<usize>l << 2), d1 * <f32>q - m1);
      }
    }
  }
}

/** One row of `cols` Q6_K values at `row` as f32 at out. */
export function dequantizeRowQ6K(out: usize, row: usize, cols: i32): void {
  for (let b: i32 = 0; b < cols / QK_K; b++) {
    const p = row + <usize>b * Q6_K_BYTES;
    const d = halfToFloat(load<u16>(p + 208));
    for (let h: i32 = 0; h < 2; h++) {
      const ql = p + (<usize>h << 6);
      const qh = p + 128 + (<usize>h << 5);
      const sc = p + 192 + (<usize>h << 3);
      const o = out + (<usize>(b * QK_K + 128 * h) << 2);
      for (let l: i32 = 0; l < 32; l++) {
        const is = <usize>(l >> 4);
        const high = <i32>load<u8>(qh + <usize>l);
        const lo = <i32>load<u8>(ql + <usize>l);
        const lo32 = <i32>load<u8>(ql + <usize>l + 32);
        const q1 = ((lo & 0xf) | ((high & 3) << 4)) - 32;
        const q2 = ((lo32 & 0xf) | (((high >> 2) & 3) << 4)) - 32;
        const q3 = ((lo >> 4) | (((high >> 4) & 3) << 4)) - 32;
        const q4 = ((lo32 >> 4) | (((high >> 6) & 3) << 4)) - 32;
        const at = o + (<usize>l << 2);
        store<f32>(at, d * <f32>load<i8>(sc + is) * <f32>q1);
        store<f32>(at, d * <f32>load<i8>(sc + is + 2) * <f32>q2, 128);
        store<f32>(at, d * <f32>load<i8>(sc + is + 4) * <f32>q3, 256);
        store<f32>(at, d * <f32>load<i8>(sc + is + 6) * <f32>q4, 384);
      }
    }
  }
}

/**
 * One row of `cols` values of a 32-value type at `row` as f32 at out, as dequantize_row_* does:
 * Q4_0, Q4_1, Q5_0, Q5_1 (`type` their ggml ids). Byte j holds value j (low nibble) and j + 16.
 */
export function dequantizeRowLegacy(out: usize, row: usize, cols: i32, type: i32): void {
  const offset = type == TYPE_Q4_1 || type == TYPE_Q5_1;
  const fifth = type == TYPE_Q5_0 || type == TYPE_Q5_1;
  const size: usize = fifth ? (offset ? Q5_1_BYTES : Q5_0_BYTES) : offset ? Q4_1_BYTES : Q4_0_BYTES;
  const bias: i32 = offset ? 0 : fifth ? 16 : 8;
  for (let b: i32 = 0; b < cols / 32; b++) {
    const p = row + <usize>b * size;
    const d = halfToFloat(load<u16>(p));
    const m: f32 = offset ? halfToFloat(load<u16>(p + 2)) : 0;
    const qhAt = p + (offset ? 4 : 2);
    const qh: u32 = fifth ? load<u32>(qhAt) : 0;
    const qs = qhAt + (fifth ? 4 : 0);
    const o = out + (<usize>(b * 32) << 2);
    for (let j: i32 = 0; j < 16; j++) {
      const q = <i32>load<u8>(qs + <usize>j);
      const lo = (q & 0xf) | (<i32>((qh >> j) & 1) << 4);
      const hi = (q >> 4) | (<i32>((qh >> (j + 16)) & 1) << 4);
      store<f32>(o + (<usize>j << 2), offset ? <f32>lo * d + m : <f32>(lo - bias) * d);
      store<f32>(o + (<usize>(j + 16) << 2), offset ? <f32>hi * d + m : <f32>(hi - bias) * d);
    }
  }
}
