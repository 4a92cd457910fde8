import { dot } from './simd';
import { exp4 } from './exp';
import { floatToHalf } from './half';

/* The kernels that touch each value once or a few times: norms, rotations, activations, copies. */

/** out[n, dim] = x / √(mean(x²) + eps) · weight[dim] */
export function rmsNorm(out: usize, x: usize, weight: usize, n: i32, dim: i32, eps: f32): void {
  const vecDim = dim & ~3;
  for (let t: i32 = 0; t < n; t++) {
    const xr = x + ((<usize>t * <usize>dim) << 2);
    const or = out + ((<usize>t * <usize>dim) << 2);
    const scale = f32(1) / Mathf.sqrt(dot(xr, xr, dim) / f32(dim) + eps);
    const s = f32x4.splat(scale);
    for (let i: i32 = 0; i < vecDim; i += 4) {
      const off = <usize>i << 2;
      v128.store(or + off, f32x4.mul(f32x4.mul(v128.load(xr + off), s), v128.load(weight + off)));
    }
    for (let i: i32 = vecDim; i < dim; i++) {
      const off = <usize>i << 2;
      store<f32>(or + off, load<f32>(xr + off) * scale * load<f32>(weight + off));
    }
  }
}

/**
 * Rotary embedding in place on x[n, numHeads · headDim]. `table` holds cos and sin of every
 * (position, pair), [maxPosition, headDim/2, 2]. `neox` 0 rotates adjacent pairs (2i, 2i+1),
 * 1 rotates (i, i + headDim/2).
 */
export function rope(x: usize, positions: usize, n: i32, numHeads: i32, headDim: i32, table: usize, neox: i32): void {
  const half = headDim >> 1;
  for (let t: i32 = 0; t < n; t++) {
    const row = table + ((<usize>load<i32>(positions + (<usize>t << 2)) * <usize>half * 2) << 2);
    for (let h: i32 = 0; h < numHeads; h++) {
      const base = x + ((<usize>(t * numHeads + h) * <usize>headDim) << 2);
      for (let i: i32 = 0; i < half; i++) {
        const cos = load<f32>(row + (<usize>(2 * i) << 2));
        const sin = load<f32>(row + (<usize>(2 * i + 1) << 2));
        const pa = base + (<usize>(neox != 0 ? i : i << 1) << 2);
        const pb = pa + (neox != 0 ? <usize>half << 2 : 4);
        const a = load<f32>(pa);
        const b = load<f32>(pb);
        store<f32>(pa, a * cos - b * sin);
        store<f32>(pb, a * sin + b * cos);
      }
    }
  }
}

/** keys[slot] = f16(k[t]), values[slot] = f16(v[t]) for slot = slotMapping[t]; rows of kvDim values. */
export function storeKv(keys: usize, values: usize, k: usize, v: usize, slotMapping: usize, n: i32, kvDim: i32): void {
  for (let t: i32 = 0; t < n; t++) {
    const slot = <usize>load<i32>(slotMapping + (<usize>t << 2)) * <usize>kvDim;
    const row = <usize>t * <usize>kvDim;
    for (let i: i32 = 0; i < kvDim; i++) {
      store<u16>(keys + ((slot + <usize>i) << 1), floatToHalf(load<f32>(k + ((row + <usize>i) << 2))));
      store<u16>(values + ((slot + <usize>i) << 1), floatToHalf(load<f32>(v + ((row + <usize>i) << 2))));
    }
  }
}

/** out[n·hidden] = silu(gate) · up, silu(g) = g / (1 + e^−g) as ggml_v_silu computes it */
export function siluMul(out: usize, gate: usize, up: usize, count: i32): void {
  const one = f32x4.splat(1);
  const vec = count & ~3;
  for (let i: i32 = 0; i < vec; i += 4) {
    const off = <usize>i << 2;
    const g = v128.load(gate + off);
    v128.store(out + off, f32x4.mul(f32x4.div(g, f32x4.add(one, exp4(f32x4.neg(g)))), v128.load(up + off)));
  }
  for (let i: i32 = vec; i < count; i++) {
    const off = <usize>i << 2;
    const g = load<f32>(gate + off);
    store<f32>(out + off, (g / (f32(1) + f32x4.extract_lane(exp4(f32x4.splat(-g)), 0))) * load<f32>(up + off));
  }
}

/** x[t] += bias for each of n rows of width values */
export function addBias(x: usize, bias: usize, n: i32, width: i32): void {
  for (let t: i32 = 0; t < n; t++) addInPlace(x + ((<usize>t * <usize>width) << 2), bias, width);
}

/** x[length] += y[length] */
export function addInPlace(x: usize, y: usize, length: i32): void {
  const vecLen = length & ~3;
  for (let i: i32 = 0; i < vecLen; i += 4) {
    const off = <usize>i << 2;
    v128.store(x + off, f32x4.add(v128.load(x + off), v128.load(y + off)));
  }
  for (let i: i32 = vecLen; i < length; i++) {
    const off = <usize>i << 2;
    store<f32>(x + off, load<f32>(x + off) + load<f32>(y + off));
  }
}

/** out[n, vocab] = softmax(logits[n, vocab] · invTemperature[row]) */
export function softmax(out: usize, logits: usize, invTemperature: usize, n: i32, vocab: i32): void {
  for (let t: i32 = 0; t < n; t++) {
    const k = load<f32>(invTemperature + (<usize>t << 2));
    const l = logits + ((<usize>t * <usize>vocab) << 2);
    const o = out + ((<usize>t * <usize>vocab) << 2);
    let max = -Infinity as f32;
    for (let i: i32 = 0; i < vocab; i++) max = Mathf.max(max, load<f32>(l + (<usize>i << 2)) * k);
    let sum: f32 = 0;
    const vec = vocab & ~3;
    let sums = f32x4.splat(0);
    for (let i: i32 = 0; i < vec; i += 4) {
      const e = exp4(f32x4.sub(f32x4.mul(v128.load(l + (<usize>i << 2)), f32x4.splat(k)), f32x4.splat(max)));
      v128.store(o + (<usize>i << 2), e);
      sums = f32x4.add(sums, e);
    }
    sum = f32x4.extract_lane(sums, 0) + f32x4.extract_lane(sums, 1) + f32x4.extract_lane(sums, 2) + f32x4.extract_lane(sums, 3);
    for (let i: i32 = vec; i < vocab; i++) {
      const e = f32x4.extract_lane(exp4(f32x4.splat(load<f32>(l + (<usize>i << 2)) * k - max)), 0);
      store<f32>(o + (<usize>i << 2), e);
      sum += e;
    }
    const inv = f32(1) / sum;
    for (let i: i32 = 0; i < vocab; i++) store<f32>(o + (<usize>i << 2), load<f32>(o + (<usize>i << 2)) * inv);
  }
}
