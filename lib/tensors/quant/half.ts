/**
 * IEEE half precision (f16) and bfloat16 conversions, rounding to nearest even as the F16C and
 * AVX-512 BF16 instructions llama.cpp uses do. `halfToFloat` reads through a table built once.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The f16 bits nearest to `x` (ties to even; overflow to ±inf; NaN stays NaN). */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const u = u32[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++; // a carry into the exponent is still right
  return sign | half;
}

let halfTable: Float32Array | null = null; // [65536] f32 value of every f16 bit pattern

export function halfToFloat(h: number): number {
  halfTable ??= buildHalfTable();
  return halfTable[h & 0xffff];
}

/** `x` rounded to the nearest f16 value, as an f32. */
export function roundToHalf(x: number): number {
  return halfToFloat(floatToHalf(x));
}

function buildHalfTable(): Float32Array {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    table[h] = e === 0 ? sign * m * 2 ** -24 : e === 31 ? (m !== 0 ? NaN : sign * Infinity) : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return table;
}

/** The bfloat16 bits nearest to `x` (ties to even; NaN kept quiet), as ggml_compute_fp32_to_bf16. */
export function floatToBfloat(x: number): number {
  f32[0] = x;
  const u = u32[0];
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bfloatToFloat(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
}

/** `x` rounded to the nearest bfloat16 value, as an f32. */
export function roundToBfloat(x: number): number {
  return bfloatToFloat(floatToBfloat(x));
}
