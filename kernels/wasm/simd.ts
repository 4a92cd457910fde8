/* SIMD helpers shared by the kernels. */

/** Four-lane horizontal sum. */
@inline export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Dot product of `len` floats at `a` and `b`. */
@inline export function dot(a: usize, b: usize, len: i32): f32 {
  const vecLen = len & ~3;
  let acc = f32x4.splat(0);
  for (let i: i32 = 0; i < vecLen; i += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2))));
  let s = hsum(acc);
  for (let i: i32 = vecLen; i < len; i++) s += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return s;
}
