/*
 * Half-precision (f16) and bfloat16 in SIMD: loading weights and KV entries stored in them, and
 * rounding f32 values to their precision the way llama.cpp converts activations (round to
 * nearest even). Each weight type is a "loader" class the generic kernels are specialised on at
 * compile time (used through changetype<W>(0): they hold no state).
 */

const TWO_POW_112: f32 = 5.192296858534828e33;
const TWO_POW_24: f32 = 16777216.0;
const TWO_POW_MINUS_24: f32 = 5.960464477539063e-8;
const SMALLEST_NORMAL_HALF: f32 = 6.103515625e-5; // 2^-14

/** Four f16 values at `p` as f32x4: exact, subnormals and inf/NaN included. */
@inline export function halfToFloat4(p: usize): v128 {
  const h = v128.load16x4_u(p);
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  const em = v128.and(h, i32x4.splat(0x7fff));
  const shifted = i32x4.shl(em, 13);
  // the exponent rebias by multiplication also turns f16 subnormals into the right f32 value
  const finite = f32x4.mul(shifted, f32x4.splat(TWO_POW_112));
  const special = v128.or(shifted, i32x4.splat(0x7f800000));
  return v128.or(v128.bitselect(special, finite, i32x4.gt_s(em, i32x4.splat(0x7bff))), sign);
}

@inline export function halfToFloat(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const em = h & 0x7fff;
  const shifted = em << 13;
  const value = em > 0x7bff ? reinterpret<f32>(shifted | 0x7f800000) : reinterpret<f32>(shifted) * TWO_POW_112;
  return reinterpret<f32>(reinterpret<u32>(value) | sign);
}

/** f16 bits nearest to x, ties to even (F16C's _cvtss_sh). */
export function floatToHalf(x: f32): u16 {
  const u = reinterpret<u32>(x);
  const sign = (u >> 16) & 0x8000;
  const exp = <i32>((u >> 23) & 0xff);
  let mant = u & 0x7fffff;
  if (exp == 0xff) return <u16>(sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
  const e = exp - 112;
  if (e >= 0x1f) return <u16>(sign | 0x7c00);
  if (e <= 0) {
    if (e < -10) return <u16>sign;
    mant |= 0x800000;
    const shift = <u32>(14 - e);
    let half = mant >> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway: u32 = 1 << (shift - 1);
    if (rest > halfway || (rest == halfway && (half & 1) != 0)) half++;
    return <u16>(sign | half);
  }
  let half = (<u32>e << 10) | (mant >> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1) != 0)) half++;
  return <u16>(sign | half);
}

/** x rounded to the nearest f16 value (ties to even), kept as f32. */
@inline export function roundToHalf4(x: v128): v128 {
  const lsb = v128.and(i32x4.shr_u(x, 13), i32x4.splat(1));
  const normal = v128.and(i32x4.add(i32x4.add(x, i32x4.splat(0xfff)), lsb), i32x4.splat(0xffffe000));
  const subnormal = f32x4.mul(f32x4.nearest(f32x4.mul(x, f32x4.splat(TWO_POW_24))), f32x4.splat(TWO_POW_MINUS_24));
  const rounded = v128.bitselect(subnormal, normal, f32x4.lt(f32x4.abs(x), f32x4.splat(SMALLEST_NORMAL_HALF)));
  // past f16's largest finite value (65504) lies infinity
  const inf = v128.or(v128.and(x, i32x4.splat(0x80000000)), i32x4.splat(0x7f800000));
  return v128.bitselect(inf, rounded, f32x4.ge(f32x4.abs(rounded), f32x4.splat(65536.0)));
}

@inline export function roundToHalf(x: f32): f32 {
  return f32x4.extract_lane(roundToHalf4(f32x4.splat(x)), 0);
}

/** x rounded to the nearest bfloat16 value (ties to even), kept as f32. */
@inline export function roundToBfloat4(x: v128): v128 {
  const lsb = v128.and(i32x4.shr_u(x, 16), i32x4.splat(1));
  return v128.and(i32x4.add(i32x4.add(x, i32x4.splat(0x7fff)), lsb), i32x4.splat(0xffff0000));
}

/* Weight loaders: four values as f32x4, one value as f32, and the bytes a value takes. */

export class WeightsF32 {
  @inline load4(p: usize): v128 {
    return v128.load(p);
  }
  @inline load1(p: usize): f32 {
    return load<f32>(p);
  }
  @inline get shift(): usize {
    return 2;
  }
}

export class WeightsF16 {
  @inline load4(p: usize): v128 {
    return halfToFloat4(p);
  }
  @inline load1(p: usize): f32 {
    return halfToFloat(load<u16>(p));
  }
  @inline get shift(): usize {
    return 1;
  }
}

export class WeightsBf16 {
  @inline load4(p: usize): v128 {
    return i32x4.shl(v128.load16x4_u(p), 16);
  }
  @inline load1(p: usize): f32 {
    return reinterpret<f32>(<u32>load<u16>(p) << 16);
  }
  @inline get shift(): usize {
    return 1;
  }
}
