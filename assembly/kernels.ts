/*
 * The forward pass's kernels in WebAssembly with 128-bit SIMD (f32x4), compiled by
 * AssemblyScript into lib/model/kernels/kernels.wasm. Every argument that names a buffer is a
 * byte offset into the one shared memory the module imports, where the weights live once for
 * every engine worker and each worker keeps its own activations and KV cache. Buffers are
 * row-major f32 (i32 for indices); `n` is the number of rows (tokens). No function allocates.
 */

/** Four-lane horizontal sum. */
@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Dot product of `len` floats at `a` and `b`. */
@inline function dot(a: usize, b: usize, len: i32): f32 {
  const vecLen = len & ~3;
  let acc = f32x4.splat(0);
  for (let i: i32 = 0; i < vecLen; i += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2))));
  let s = hsum(acc);
  for (let i: i32 = vecLen; i < len; i++) s += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return s;
}

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
 * Rotary embedding in place on x[n, numHeads · headDim], pairing (i, i + headDim/2). `table`
 * holds cos and sin of position · θ^(−2i/headDim), [maxPosition, headDim/2, 2].
 */
export function rope(x: usize, positions: usize, n: i32, numHeads: i32, headDim: i32, table: usize): void {
  const half = headDim >> 1;
  for (let t: i32 = 0; t < n; t++) {
    const row = table + ((<usize>load<i32>(positions + (<usize>t << 2)) * <usize>half * 2) << 2);
    for (let h: i32 = 0; h < numHeads; h++) {
      const base = x + ((<usize>(t * numHeads + h) * <usize>headDim) << 2);
      for (let i: i32 = 0; i < half; i++) {
        const cos = load<f32>(row + (<usize>(2 * i) << 2));
        const sin = load<f32>(row + (<usize>(2 * i + 1) << 2));
        const pa = base + (<usize>i << 2);
        const pb = base + (<usize>(i + half) << 2);
        const a = load<f32>(pa);
        const b = load<f32>(pb);
        store<f32>(pa, a * cos - b * sin);
        store<f32>(pb, b * cos + a * sin);
      }
    }
  }
}

/** keys[slot] = k[t], values[slot] = v[t] for slot = slotMapping[t]; rows of kvDim floats. */
export function storeKv(keys: usize, values: usize, k: usize, v: usize, slotMapping: usize, n: i32, kvDim: i32): void {
  const rowBytes = <usize>kvDim << 2;
  for (let t: i32 = 0; t < n; t++) {
    const slot = <usize>load<i32>(slotMapping + (<usize>t << 2));
    memory.copy(keys + slot * rowBytes, k + <usize>t * rowBytes, rowBytes);
    memory.copy(values + slot * rowBytes, v + <usize>t * rowBytes, rowBytes);
  }
}

/**
 * Causal grouped-query attention over the paged cache. Token t attends to positions
 * 0..positions[t] of its sequence, found through that sequence's row of blockTables.
 * `scores` is scratch for one row of attention weights (at least the longest context).
 */
export function attention(
  out: usize,
  q: usize,
  keys: usize,
  values: usize,
  blockTables: usize,
  tokenSeq: usize,
  positions: usize,
  n: i32,
  numHeads: i32,
  numKvHeads: i32,
  headDim: i32,
  blockSize: i32,
  maxBlocksPerSeq: i32,
  scores: usize,
): void {
  const group = numHeads / numKvHeads;
  const kvDim = numKvHeads * headDim;
  const scale = f32(1) / Mathf.sqrt(f32(headDim));
  const vecDim = headDim & ~3;
  for (let t: i32 = 0; t < n; t++) {
    const table = blockTables + ((<usize>load<i32>(tokenSeq + (<usize>t << 2)) * <usize>maxBlocksPerSeq) << 2);
    const contextLen = load<i32>(positions + (<usize>t << 2)) + 1;
    for (let h: i32 = 0; h < numHeads; h++) {
      const qh = q + ((<usize>(t * numHeads + h) * <usize>headDim) << 2);
      const kvOffset = <usize>((h / group) * headDim) << 2;
      // scores, and their maximum for a stable softmax
      let max = -Infinity as f32;
      for (let p: i32 = 0; p < contextLen; p++) {
        const slot = <usize>(load<i32>(table + (<usize>(p / blockSize) << 2)) * blockSize + (p % blockSize));
        const s = dot(qh, keys + ((slot * <usize>kvDim) << 2) + kvOffset, headDim) * scale;
        store<f32>(scores + (<usize>p << 2), s);
        if (s > max) max = s;
      }
      let denom: f32 = 0;
      for (let p: i32 = 0; p < contextLen; p++) {
        const e = Mathf.exp(load<f32>(scores + (<usize>p << 2)) - max);
        store<f32>(scores + (<usize>p << 2), e);
        denom += e;
      }
      // out = Σ_p weight[p] · v[p]
      const oh = out + ((<usize>(t * numHeads + h) * <usize>headDim) << 2);
      memory.fill(oh, 0, <usize>headDim << 2);
      const inv = f32(1) / denom;
      for (let p: i32 = 0; p < contextLen; p++) {
        const slot = <usize>(load<i32>(table + (<usize>(p / blockSize) << 2)) * blockSize + (p % blockSize));
        const vp = values + ((slot * <usize>kvDim) << 2) + kvOffset;
        const wgt = load<f32>(scores + (<usize>p << 2)) * inv;
        const wv = f32x4.splat(wgt);
        for (let i: i32 = 0; i < vecDim; i += 4) {
          const off = <usize>i << 2;
          v128.store(oh + off, f32x4.add(v128.load(oh + off), f32x4.mul(wv, v128.load(vp + off))));
        }
        for (let i: i32 = vecDim; i < headDim; i++) {
          const off = <usize>i << 2;
          store<f32>(oh + off, load<f32>(oh + off) + wgt * load<f32>(vp + off));
        }
      }
    }
  }
}

/** out[n, hidden] = silu(gateUp[:, :hidden]) · gateUp[:, hidden:] */
export function siluMul(out: usize, gateUp: usize, n: i32, hidden: i32): void {
  for (let t: i32 = 0; t < n; t++) {
    const g = gateUp + ((<usize>t * <usize>hidden * 2) << 2);
    const u = g + (<usize>hidden << 2);
    const o = out + ((<usize>t * <usize>hidden) << 2);
    for (let i: i32 = 0; i < hidden; i++) {
      const off = <usize>i << 2;
      const gv = load<f32>(g + off);
      store<f32>(o + off, (gv / (f32(1) + Mathf.exp(-gv))) * load<f32>(u + off));
    }
  }
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
    for (let i: i32 = 0; i < vocab; i++) {
      const e = Mathf.exp(load<f32>(l + (<usize>i << 2)) * k - max);
      store<f32>(o + (<usize>i << 2), e);
      sum += e;
    }
    const inv = f32(1) / sum;
    for (let i: i32 = 0; i < vocab; i++) store<f32>(o + (<usize>i << 2), load<f32>(o + (<usize>i << 2)) * inv);
  }
}
