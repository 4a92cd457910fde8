import { dot, hsum } from './simd';

/**
 * out[n, rows] = x[n, cols] · wᵀ, w row-major [rows, cols].
 * A micro-kernel of 4 tokens × 2 weight rows keeps 8 accumulators in registers, so that each
 * weight vector loaded serves four tokens and each input vector two rows; single tokens (decode
 * remainders) take 4 rows at a time. Columns that are not a multiple of 4 finish in scalar code.
 */
export function matmul(out: usize, x: usize, w: usize, n: i32, rows: i32, cols: i32): void {
  const vecCols = cols & ~3;
  const rowBytes = <usize>cols << 2;
  const outRow = <usize>rows << 2;
  let t: i32 = 0;
  for (; t + 4 <= n; t += 4) {
    const x0 = x + <usize>t * rowBytes;
    const x1 = x0 + rowBytes;
    const x2 = x1 + rowBytes;
    const x3 = x2 + rowBytes;
    let r: i32 = 0;
    for (; r + 2 <= rows; r += 2) {
      const w0 = w + <usize>r * rowBytes;
      const w1 = w0 + rowBytes;
      let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
      let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
      for (let c: i32 = 0; c < vecCols; c += 4) {
        const off = <usize>c << 2;
        const wv0 = v128.load(w0 + off);
        const wv1 = v128.load(w1 + off);
        const xv0 = v128.load(x0 + off);
        const xv1 = v128.load(x1 + off);
        const xv2 = v128.load(x2 + off);
        const xv3 = v128.load(x3 + off);
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
        const off = <usize>c << 2;
        const wc0 = load<f32>(w0 + off);
        const wc1 = load<f32>(w1 + off);
        const xc0 = load<f32>(x0 + off);
        const xc1 = load<f32>(x1 + off);
        const xc2 = load<f32>(x2 + off);
        const xc3 = load<f32>(x3 + off);
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
    for (; r < rows; r++) {
      const wr = w + <usize>r * rowBytes;
      for (let k: i32 = 0; k < 4; k++) store<f32>(out + <usize>(t + k) * outRow + (<usize>r << 2), dot(x + <usize>(t + k) * rowBytes, wr, cols));
    }
  }
  for (; t < n; t++) {
    const xr = x + <usize>t * rowBytes;
    let r: i32 = 0;
    for (; r + 4 <= rows; r += 4) {
      const w0 = w + <usize>r * rowBytes;
      const w1 = w0 + rowBytes;
      const w2 = w1 + rowBytes;
      const w3 = w2 + rowBytes;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      for (let c: i32 = 0; c < vecCols; c += 4) {
        const off = <usize>c << 2;
        const xv = v128.load(xr + off);
        a0 = f32x4.add(a0, f32x4.mul(xv, v128.load(w0 + off)));
        a1 = f32x4.add(a1, f32x4.mul(xv, v128.load(w1 + off)));
        a2 = f32x4.add(a2, f32x4.mul(xv, v128.load(w2 + off)));
        a3 = f32x4.add(a3, f32x4.mul(xv, v128.load(w3 + off)));
      }
      let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
      for (let c: i32 = vecCols; c < cols; c++) {
        const off = <usize>c << 2;
        const xc = load<f32>(xr + off);
        s0 += xc * load<f32>(w0 + off);
        s1 += xc * load<f32>(w1 + off);
        s2 += xc * load<f32>(w2 + off);
        s3 += xc * load<f32>(w3 + off);
      }
      const o = out + <usize>t * outRow + (<usize>r << 2);
      store<f32>(o, s0);
      store<f32>(o, s1, 4);
      store<f32>(o, s2, 8);
      store<f32>(o, s3, 12);
    }
    for (; r < rows; r++) store<f32>(out + <usize>t * outRow + (<usize>r << 2), dot(xr, w + <usize>r * rowBytes, cols));
  }
}
