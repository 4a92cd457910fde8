import { exp4 } from './exp';
import { halfToFloat4, roundToHalf4 } from './half';
import { AttentionArgs } from './tensor-types.generated';

/**
 * Causal grouped-query attention over the paged f16 cache. Token t attends to positions
 * 0..positions[t] of its sequence, found through that sequence's row of blockTables. As in
 * llama.cpp (ggml's mul_mat with f16 operands, then soft_max), q is rounded to f16 before q·k,
 * and the softmax weights are rounded to f16 before they weigh v.
 *
 * The work is numKvHeads · n units (a KV head's group of query heads for one token), KV head
 * major; a call does units [unitStart, unitEnd), so that threads can share one attention. Up to
 * QUERY_TILE tokens of one sequence (a prompt) go through the cache together: each key and value
 * row is read and converted from f16 once per tile and serves every query of the tile and every
 * head of the group, instead of once per token.
 *
 * `scratch` (attentionScratchBytes) holds, in f32: the tile's rounded queries [group, tile,
 * headDim], their scores over the context [group, tile, maxContext], four converted key or value
 * rows [4, headDim], and each query's context length [tile] (i32).
 */
const QUERY_TILE: i32 = 16;

export function attentionScratchBytes(group: i32, headDim: i32, maxContext: i32): i32 {
  return 4 * (group * QUERY_TILE * (headDim + maxContext) + 4 * headDim + QUERY_TILE);
}

/** The team's attention kernel: its argument block (AttentionArgs), its share of the units, and scratch. */
export function attention(args: usize, unitStart: i32, unitEnd: i32, scratch: usize): void {
  const a = changetype<AttentionArgs>(args);
  attend(<usize>a.out, <usize>a.q, <usize>a.keys, <usize>a.values, <usize>a.blockTables, <usize>a.tokenSeq, <usize>a.positions, a.n, a.numHeads, a.numKvHeads, a.headDim, a.blockSize, a.maxBlocksPerSeq, a.maxContext, unitStart, unitEnd, scratch);
}

@inline function attend(
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
  maxContext: i32,
  unitStart: i32,
  unitEnd: i32,
  scratch: usize,
): void {
  let unit = unitStart;
  while (unit < unitEnd) {
    const g = unit / n;
    const t0 = unit % n;
    const seq = load<i32>(tokenSeq + (<usize>t0 << 2));
    let t1 = t0 + 1;
    while (t1 < n && g * n + t1 < unitEnd && t1 - t0 < QUERY_TILE && load<i32>(tokenSeq + (<usize>t1 << 2)) == seq) t1++;
    const table = blockTables + ((<usize>seq * <usize>maxBlocksPerSeq) << 2);
    attendTile(out, q, keys, values, table, positions, t0, t1, g, numHeads, numKvHeads, headDim, blockSize, maxContext, scratch);
    unit = g * n + t1;
  }
}

/** Tokens [t0, t1) of one sequence (block table at `table`), the query heads of KV head g. */
function attendTile(
  out: usize,
  q: usize,
  keys: usize,
  values: usize,
  table: usize,
  positions: usize,
  t0: i32,
  t1: i32,
  g: i32,
  numHeads: i32,
  numKvHeads: i32,
  headDim: i32,
  blockSize: i32,
  maxContext: i32,
  scratch: usize,
): void {
  const group = numHeads / numKvHeads;
  const m = t1 - t0;
  const kvDim = numKvHeads * headDim;
  const kvOffset = (<usize>(g * headDim)) << 1;
  const scale = f32(1) / Mathf.sqrt(f32(headDim));
  const headBytes = <usize>headDim << 2;
  const qs = scratch;
  const scores = qs + <usize>(group * m) * headBytes;
  const rows = scores + ((<usize>(group * m) * <usize>maxContext) << 2);
  const lengths = rows + 4 * headBytes;
  // each query's context and the tile's; its queries rounded to f16
  let context: i32 = 0;
  for (let i: i32 = 0; i < m; i++) {
    const len = load<i32>(positions + (<usize>(t0 + i) << 2)) + 1;
    store<i32>(lengths + (<usize>i << 2), len);
    context = max(context, len);
    for (let h: i32 = 0; h < group; h++) {
      const src = q + ((<usize>((t0 + i) * numHeads + g * group + h) * <usize>headDim) << 2);
      roundRowToHalf(qs + <usize>(h * m + i) * headBytes, src, headDim);
    }
  }
  // scores = q·k / √headDim, four keys at a time: each key converted once for the whole tile
  for (let pos: i32 = 0; pos < context; pos += 4) {
    const keysHere = min(4, context - pos);
    loadRows(rows, keys, table, pos, keysHere, blockSize, kvDim, kvOffset, headDim);
    for (let i: i32 = 0; i < m; i++) {
      const len = load<i32>(lengths + (<usize>i << 2));
      if (pos >= len) continue;
      for (let h: i32 = 0; h < group; h++) {
        const k = h * m + i;
        const at = scores + ((<usize>k * <usize>maxContext + <usize>pos) << 2);
        const s = f32x4.mul(dot4(qs + <usize>k * headBytes, rows, headDim), f32x4.splat(scale));
        if (pos + 4 <= len) {
          v128.store(at, s);
        } else {
          // the last keys of a query that ends inside these four
          store<f32>(at, f32x4.extract_lane(s, 0));
          if (pos + 1 < len) store<f32>(at, f32x4.extract_lane(s, 1), 4);
          if (pos + 2 < len) store<f32>(at, f32x4.extract_lane(s, 2), 8);
        }
      }
    }
  }
  // softmax of each query's own context, weights rounded to f16; outputs zeroed
  for (let h: i32 = 0; h < group; h++) {
    for (let i: i32 = 0; i < m; i++) {
      softmaxToHalf(scores + ((<usize>(h * m + i) * <usize>maxContext) << 2), load<i32>(lengths + (<usize>i << 2)));
      memory.fill(out + ((<usize>((t0 + i) * numHeads + g * group + h) * <usize>headDim) << 2), 0, headBytes);
    }
  }
  // out = Σ_p weight[p] · v[p], four values at a time: each converted once for the whole tile
  for (let pos: i32 = 0; pos < context; pos += 4) {
    const valuesHere = min(4, context - pos);
    loadRows(rows, values, table, pos, valuesHere, blockSize, kvDim, kvOffset, headDim);
    for (let i: i32 = 0; i < m; i++) {
      const len = load<i32>(lengths + (<usize>i << 2));
      if (pos >= len) continue;
      const used = min(4, len - pos);
      for (let h: i32 = 0; h < group; h++) {
        const w = scores + ((<usize>(h * m + i) * <usize>maxContext + <usize>pos) << 2);
        // weights past the query's context are not its own: zero, whatever the scratch holds
        const w0 = load<f32>(w);
        const w1 = used > 1 ? load<f32>(w, 4) : 0;
        const w2 = used > 2 ? load<f32>(w, 8) : 0;
        const w3 = used > 3 ? load<f32>(w, 12) : 0;
        axpy4(out + ((<usize>((t0 + i) * numHeads + g * group + h) * <usize>headDim) << 2), rows, headDim, w0, w1, w2, w3);
      }
    }
  }
}

/** rows[count, headDim] (f32) = the f16 key or value rows of positions pos … pos + count − 1; the rest zero. */
@inline function loadRows(rows: usize, cache: usize, table: usize, pos: i32, count: i32, blockSize: i32, kvDim: i32, kvOffset: usize, headDim: i32): void {
  const headBytes = <usize>headDim << 2;
  for (let r: i32 = 0; r < 4; r++) {
    const dst = rows + <usize>r * headBytes;
    if (r >= count) {
      memory.fill(dst, 0, headBytes);
      continue;
    }
    const p = pos + r;
    const slot = <usize>load<i32>(table + (<usize>(p / blockSize) << 2)) * <usize>blockSize + <usize>(p % blockSize);
    toFloatRow(dst, cache + ((slot * <usize>kvDim) << 1) + kvOffset, headDim);
  }
}

/** The four dot products of q[headDim] with rows[4, headDim], as one vector. */
@inline function dot4(q: usize, rows: usize, headDim: i32): v128 {
  const r1 = rows + (<usize>headDim << 2);
  const r2 = r1 + (<usize>headDim << 2);
  const r3 = r2 + (<usize>headDim << 2);
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  const vec = headDim & ~3;
  for (let d: i32 = 0; d < vec; d += 4) {
    const off = <usize>d << 2;
    const qv = v128.load(q + off);
    a0 = f32x4.add(a0, f32x4.mul(qv, v128.load(rows + off)));
    a1 = f32x4.add(a1, f32x4.mul(qv, v128.load(r1 + off)));
    a2 = f32x4.add(a2, f32x4.mul(qv, v128.load(r2 + off)));
    a3 = f32x4.add(a3, f32x4.mul(qv, v128.load(r3 + off)));
  }
  // transpose and add: lane k is the sum of a_k
  const p01 = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
  const p23 = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
  let sums = f32x4.add(v128.shuffle<f32>(p01, p23, 0, 1, 4, 5), v128.shuffle<f32>(p01, p23, 2, 3, 6, 7));
  for (let d: i32 = vec; d < headDim; d++) {
    const off = <usize>d << 2;
    const qd = load<f32>(q + off);
    sums = f32x4.add(sums, f32x4.mul(f32x4.splat(qd), f32x4(load<f32>(rows + off), load<f32>(r1 + off), load<f32>(r2 + off), load<f32>(r3 + off))));
  }
  return sums;
}

/** o[headDim] += w0·rows[0] + w1·rows[1] + w2·rows[2] + w3·rows[3] */
@inline function axpy4(o: usize, rows: usize, headDim: i32, w0: f32, w1: f32, w2: f32, w3: f32): void {
  const r1 = rows + (<usize>headDim << 2);
  const r2 = r1 + (<usize>headDim << 2);
  const r3 = r2 + (<usize>headDim << 2);
  const v0 = f32x4.splat(w0);
  const v1 = f32x4.splat(w1);
  const v2 = f32x4.splat(w2);
  const v3 = f32x4.splat(w3);
  const vec = headDim & ~3;
  for (let d: i32 = 0; d < vec; d += 4) {
    const off = <usize>d << 2;
    const sum = f32x4.add(f32x4.add(f32x4.mul(v0, v128.load(rows + off)), f32x4.mul(v1, v128.load(r1 + off))), f32x4.add(f32x4.mul(v2, v128.load(r2 + off)), f32x4.mul(v3, v128.load(r3 + off))));
    v128.store(o + off, f32x4.add(v128.load(o + off), sum));
  }
  for (let d: i32 = vec; d < headDim; d++) {
    const off = <usize>d << 2;
    store<f32>(o + off, load<f32>(o + off) + (w0 * load<f32>(rows + off) + w1 * load<f32>(r1 + off) + (w2 * load<f32>(r2 + off) + w3 * load<f32>(r3 + off))));
  }
}

/** s[len] = softmax(s[len]), each weight rounded to f16. */
function softmaxToHalf(s: usize, len: i32): void {
  const vec = len & ~3;
  let maxv = f32x4.splat(-Infinity);
  for (let p: i32 = 0; p < vec; p += 4) maxv = f32x4.max(maxv, v128.load(s + (<usize>p << 2)));
  let max = Mathf.max(Mathf.max(f32x4.extract_lane(maxv, 0), f32x4.extract_lane(maxv, 1)), Mathf.max(f32x4.extract_lane(maxv, 2), f32x4.extract_lane(maxv, 3)));
  for (let p: i32 = vec; p < len; p++) max = Mathf.max(max, load<f32>(s + (<usize>p << 2)));
  const mv = f32x4.splat(max);
  let sumv = f32x4.splat(0);
  for (let p: i32 = 0; p < vec; p += 4) {
    const e = exp4(f32x4.sub(v128.load(s + (<usize>p << 2)), mv));
    v128.store(s + (<usize>p << 2), e);
    sumv = f32x4.add(sumv, e);
  }
  let sum = f32x4.extract_lane(sumv, 0) + f32x4.extract_lane(sumv, 1) + f32x4.extract_lane(sumv, 2) + f32x4.extract_lane(sumv, 3);
  for (let p: i32 = vec; p < len; p++) {
    const e = f32x4.extract_lane(exp4(f32x4.splat(load<f32>(s + (<usize>p << 2)) - max)), 0);
    store<f32>(s + (<usize>p << 2), e);
    sum += e;
  }
  const inv = f32x4.splat(f32(1) / sum);
  roundRowToHalf(s, s, len, inv);
}

/** dst[count] = f16-rounded src[count] · factor. */
@inline function roundRowToHalf(dst: usize, src: usize, count: i32, factor: v128 = f32x4.splat(1)): void {
  const vec = count & ~3;
  for (let i: i32 = 0; i < vec; i += 4) v128.store(dst + (<usize>i << 2), roundToHalf4(f32x4.mul(v128.load(src + (<usize>i << 2)), factor)));
  for (let i: i32 = vec; i < count; i++) {
    store<f32>(dst + (<usize>i << 2), f32x4.extract_lane(roundToHalf4(f32x4.mul(f32x4.splat(load<f32>(src + (<usize>i << 2))), factor)), 0));
  }
}

/** dst[count] (f32) = the f16 values at src. */
@inline function toFloatRow(dst: usize, src: usize, count: i32): void {
  const vec = count & ~3;
  for (let i: i32 = 0; i < vec; i += 4) v128.store(dst + (<usize>i << 2), halfToFloat4(src + (<usize>i << 1)));
  for (let i: i32 = vec; i < count; i++) store<f32>(dst + (<usize>i << 2), f32x4.extract_lane(halfToFloat4(src + (<usize>i << 1)), 0));
}
