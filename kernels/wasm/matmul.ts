import { hsum } from './simd';
import { MatmulArgs } from './tensor-types.generated';
import { roundToBfloat4, roundToHalf4, WeightsBf16, WeightsF16, WeightsF32 } from './half';

/**
 * out[n, rows] = x[n, cols] · wᵀ, w row-major [rows, cols] of f32, f16 or bf16 weights (the
 * loader W). A micro-kernel of 4 tokens × 2 weight rows keeps 8 accumulators in registers, so
 * that each weight vector loaded serves four tokens and each input vector two rows, over blocks
 * of rows that stay in L2 while all the tokens pass; single tokens (decode remainders) take 6
 * rows at a time, six streams from memory. Columns that are not a multiple of 4 finish
 * in scalar code. x must already be in the weights' dot type (see roundRows). Only the rows
 * [rowStart, rowEnd) of out are computed, so that threads can share one matmul.
 */
/** Bytes of weight rows kept together in L2 while the tokens pass over them. */
const ROW_BLOCK_BYTES: usize = 128 << 10;

@inline function matmulFloat<W>(out: usize, x: usize, w: usize, n: i32, rows: i32, cols: i32, rowStart: i32, rowEnd: i32): void {
  const wl = changetype<W>(0);
  const vecCols = cols & ~3;
  const xRow = <usize>cols << 2;
  const wRow = <usize>cols << wl.shift;
  const outRow = <usize>rows << 2;
  // rows in blocks that stay in L2 while every group of 4 tokens passes over them: each weight is
  // read from memory once per call, not once per 4 tokens
  const blockRows = max(2, <i32>(ROW_BLOCK_BYTES / wRow) & ~1);
  const fullTokens = n & ~3;
  for (let rb: i32 = rowStart; rb < rowEnd; rb += blockRows) {
    const rbEnd = min(rowEnd, rb + blockRows);
    for (let t: i32 = 0; t < fullTokens; t += 4) {
      const x0 = x + <usize>t * xRow;
      const x1 = x0 + xRow;
      const x2 = x1 + xRow;
      const x3 = x2 + xRow;
      let r: i32 = rb;
      for (; r + 2 <= rbEnd; r += 2) {
        const w0 = w + <usize>r * wRow;
        const w1 = w0 + wRow;
        let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
        let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
        for (let c: i32 = 0; c < vecCols; c += 4) {
          const xo = <usize>c << 2;
          const wo = <usize>c << wl.shift;
          const wv0 = wl.load4(w0 + wo);
          const wv1 = wl.load4(w1 + wo);
          const xv0 = v128.load(x0 + xo);
          const xv1 = v128.load(x1 + xo);
          const xv2 = v128.load(x2 + xo);
          const xv3 = v128.load(x3 + xo);
          a00 = f32x4.add(a00, f32x4.mul(xv0, wv0));
          a01 = f32x4.add(a01, f32x4.mul(xv0, wv1));
          a10 = f32x4.add(a10, f32x4.mul(xv1, wv0));
          a11 = f32x4.add(a11, f32x4.mul(xv1, wv1));
          a20 = f32x4.add(a20, f32x4.mul(xv2, wv0));
          a21 = f32x4.add(a21, f32x4.mul(xv2, wv1));
          a30 = f32x4.add(a30, f32x4.mul(xv3, wv0));
          a31 = f32x4.add(a31, f32x4.mul(xv3, wv1));
        }
        let s00 = hsum(a00), s01 = hsum(a01), s10 = hsum(a10), s11 = hsum(a11);
        let s20 = hsum(a20), s21 = hsum(a21), s30 = hsum(a30), s31 = hsum(a31);
        for (let c: i32 = vecCols; c < cols; c++) {
          const xo = <usize>c << 2;
          const wo = <usize>c << wl.shift;
          const wc0 = wl.load1(w0 + wo);
          const wc1 = wl.load1(w1 + wo);
          const xc0 = load<f32>(x0 + xo);
          const xc1 = load<f32>(x1 + xo);
          const xc2 = load<f32>(x2 + xo);
          const xc3 = load<f32>(x3 + xo);
          s00 += xc0 * wc0;
          s01 += xc0 * wc1;
          s10 += xc1 * wc0;
          s11 += xc1 * wc1;
          s20 += xc2 * wc0;
          s21 += xc2 * wc1;
          s30 += xc3 * wc0;
          s31 += xc3 * wc1;
        }
        const o = out + <usize>t * outRow + (<usize>r << 2);
        store<f32>(o, s00);
        store<f32>(o, s01, 4);
        store<f32>(o + outRow, s10);
        store<f32>(o + outRow, s11, 4);
        store<f32>(o + 2 * outRow, s20);
        store<f32>(o + 2 * outRow, s21, 4);
        store<f32>(o + 3 * outRow, s30);
        store<f32>(o + 3 * outRow, s31, 4);
      }
      for (; r < rbEnd; r++) {
        const wr = w + <usize>r * wRow;
        for (let k: i32 = 0; k < 4; k++) store<f32>(out + <usize>(t + k) * outRow + (<usize>r << 2), dotRow<W>(x + <usize>(t + k) * xRow, wr, cols));
      }
    }
  }
  for (let t: i32 = n & ~3; t < n; t++) {
    const xr = x + <usize>t * xRow;
    let r: i32 = rowStart;
    for (; r + 6 <= rowEnd; r += 6) {
      const w0 = w + <usize>r * wRow;
      const w1 = w0 + wRow;
      const w2 = w1 + wRow;
      const w3 = w2 + wRow;
      const w4 = w3 + wRow;
      const w5 = w4 + wRow;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let a4 = f32x4.splat(0), a5 = f32x4.splat(0);
      for (let c: i32 = 0; c < vecCols; c += 4) {
        const wo = <usize>c << wl.shift;
        const xv = v128.load(xr + (<usize>c << 2));
        a0 = f32x4.add(a0, f32x4.mul(xv, wl.load4(w0 + wo)));
        a1 = f32x4.add(a1, f32x4.mul(xv, wl.load4(w1 + wo)));
        a2 = f32x4.add(a2, f32x4.mul(xv, wl.load4(w2 + wo)));
        a3 = f32x4.add(a3, f32x4.mul(xv, wl.load4(w3 + wo)));
        a4 = f32x4.add(a4, f32x4.mul(xv, wl.load4(w4 + wo)));
        a5 = f32x4.add(a5, f32x4.mul(xv, wl.load4(w5 + wo)));
      }
      let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
      let s4 = hsum(a4), s5 = hsum(a5);
      for (let c: i32 = vecCols; c < cols; c++) {
        const wo = <usize>c << wl.shift;
        const xc = load<f32>(xr + (<usize>c << 2));
        s0 += xc * wl.load1(w0 + wo);
        s1 += xc * wl.load1(w1 + wo);
        s2 += xc * wl.load1(w2 + wo);
        s3 += xc * wl.load1(w3 + wo);
        s4 += xc * wl.load1(w4 + wo);
        s5 += xc * wl.load1(w5 + wo);
      }
      const o = out + <usize>t * outRow + (<usize>r << 2);
      store<f32>(o, s0);
      store<f32>(o, s1, 4);
      store<f32>(o, s2, 8);
      store<f32>(o, s3, 12);
      store<f32>(o, s4, 16);
      store<f32>(o, s5, 20);
    }
    for (; r + 4 <= rowEnd; r += 4) {
      const w0 = w + <usize>r * wRow;
      const w1 = w0 + wRow;
      const w2 = w1 + wRow;
      const w3 = w2 + wRow;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let c: i32 = 0; c < vecCols; c += 4) {
        const wo = <usize>c << wl.shift;
        const xv = v128.load(xr + (<usize>c << 2));
        a0 = f32x4.add(a0, f32x4.mul(xv, wl.load4(w0 + wo)));
        a1 = f32x4.add(a1, f32x4.mul(xv, wl.load4(w1 + wo)));
        a2 = f32x4.add(a2, f32x4.mul(xv, wl.load4(w2 + wo)));
        a3 = f32x4.add(a3, f32x4.mul(xv, wl.load4(w3 + wo)));
      }
      let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
      for (let c: i32 = vecCols; c < cols; c++) {
        const wo = <usize>c << wl.shift;
        const xc = load<f32>(xr + (<usize>c << 2));
        s0 += xc * wl.load1(w0 + wo);
        s1 += xc * wl.load1(w1 + wo);
        s2 += xc * wl.load1(w2 + wo);
        s3 += xc * wl.load1(w3 + wo);
      }
      const o = out + <usize>t * outRow + (<usize>r << 2);
      store<f32>(o, s0);
      store<f32>(o, s1, 4);
      store<f32>(o, s2, 8);
      store<f32>(o, s3, 12);
    }
    for (; r < rowEnd; r++) store<f32>(out + <usize>t * outRow + (<usize>r << 2), dotRow<W>(xr, w + <usize>r * wRow, cols));
  }
}

/** One f32 row of x against one weight row. */
@inline function dotRow<W>(x: usize, w: usize, cols: i32): f32 {
  const wl = changetype<W>(0);
  const vecCols = cols & ~3;
  let acc = f32x4.splat(0);
  for (let c: i32 = 0; c < vecCols; c += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(x + (<usize>c << 2)), wl.load4(w + (<usize>c << wl.shift))));
  let s = hsum(acc);
  for (let c: i32 = vecCols; c < cols; c++) s += load<f32>(x + (<usize>c << 2)) * wl.load1(w + (<usize>c << wl.shift));
  return s;
}

// the team's kernels take their argument block (MatmulArgs), their share of the rows, and scratch
export function matmulF32(args: usize, rowStart: i32, rowEnd: i32, _scratch: usize): void {
  const a = changetype<MatmulArgs>(args);
  matmulFloat<WeightsF32>(<usize>a.out, <usize>a.x, <usize>a.w, a.n, a.rows, a.cols, rowStart, rowEnd);
}

export function matmulF16(args: usize, rowStart: i32, rowEnd: i32, _scratch: usize): void {
  const a = changetype<MatmulArgs>(args);
  matmulFloat<WeightsF16>(<usize>a.out, <usize>a.x, <usize>a.w, a.n, a.rows, a.cols, rowStart, rowEnd);
}

export function matmulBf16(args: usize, rowStart: i32, rowEnd: i32, _scratch: usize): void {
  const a = changetype<MatmulArgs>(args);
  matmulFloat<WeightsBf16>(<usize>a.out, <usize>a.x, <usize>a.w, a.n, a.rows, a.cols, rowStart, rowEnd);
}

/**
 * out[count] = x[count] rounded to f16 (`bfloat` 0) or bfloat16 (1) precision: the activations
 * an F16 or BF16 matmul of llama.cpp multiplies.
 */
export function roundRows(out: usize, x: usize, count: i32, bfloat: i32): void {
  const vec = count & ~3;
  for (let i: i32 = 0; i < vec; i += 4) {
    const off = <usize>i << 2;
    const v = v128.load(x + off);
    v128.store(out + off, bfloat != 0 ? roundToBfloat4(v) : roundToHalf4(v));
  }
  for (let i: i32 = vec; i < count; i++) {
    const off = <usize>i << 2;
    const v = f32x4.splat(load<f32>(x + off));
    store<f32>(out + off, f32x4.extract_lane(bfloat != 0 ? roundToBfloat4(v) : roundToHalf4(v), 0));
  }
}
