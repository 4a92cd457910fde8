import { tensorType, type GgmlType } from '../tensor-types.js';
import { halfToFloat, roundToBfloat, roundToHalf, floatToHalf } from './half.js';
import { QK_K } from './k-quants.js';
import { Q8_0_BLOCK } from './q8_0.js';

/**
 * x[n, cols] as a matmul against `type` weights sees it, in f32: llama.cpp converts the
 * activations to the weights' vec_dot_type first. For Q8_0 that is the x86 quantize_row_q8_0:
 * scale = max|x| / 127 kept as f16, values x · 127 / max|x| rounded to nearest even. Q4_0
 * and Q5_0 weights take the same Q8_0 activations, Q4_1 and Q5_1 Q8_1 (the same values, and
 * each block's sum); the K-quants take Q8_K (quantizedQ8_K).
 */
export function activationsFor(type: GgmlType, x: Float32Array, n: number, cols: number): Float32Array {
  const count = n * cols;
  const dot = tensorType(type).dot;
  switch (dot) {
    case 'f32':
      return x.subarray(0, count);
    case 'f16':
    case 'bf16': {
      const round = dot === 'f16' ? roundToHalf : roundToBfloat;
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = round(x[i]);
      return out;
    }
    case 'Q8_K':
      return quantizedQ8_K(x, count);
    case 'Q8_0':
    case 'Q8_1': {
      const out = new Float32Array(count);
      for (let b = 0; b < count; b += Q8_0_BLOCK) {
        let max = 0;
        for (let j = 0; j < Q8_0_BLOCK; j++) max = Math.max(max, Math.abs(x[b + j]));
        const d = halfToFloat(floatToHalf(Math.fround(max / 127)));
        const id = max !== 0 ? Math.fround(127 / max) : 0;
        for (let j = 0; j < Q8_0_BLOCK; j++) out[b + j] = d * roundHalfEven(Math.fround(x[b + j] * id));
      }
      return out;
    }
    default:
      throw new RangeError(`no activation conversion for type ${type}`);
  }
}

export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * quantize_row_q8_K_ref: blocks of 256 values with an f32 scale. The value of largest magnitude
 * (the first, on ties) maps to −127; values are rounded to nearest even and capped at 127.
 */
function quantizedQ8_K(x: Float32Array, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let b = 0; b < count; b += QK_K) {
    let max = 0;
    let amax = 0;
    for (let j = 0; j < QK_K; j++) {
      if (Math.abs(x[b + j]) > amax) {
        amax = Math.abs(x[b + j]);
        max = x[b + j];
      }
    }
    if (amax === 0) continue;
    const iscale = Math.fround(-127 / max);
    const d = Math.fround(1 / iscale);
    for (let j = 0; j < QK_K; j++) out[b + j] = Math.fround(d * Math.min(127, roundHalfEven(Math.fround(iscale * x[b + j]))));
  }
  return out;
}
