import { GGML_TYPE, type GgmlType } from '../formats/ggml-types.js';
import { halfToFloat, roundToBfloat, roundToHalf, floatToHalf } from './half.js';
import { Q8_0_BLOCK } from './q8_0.js';

/**
 * x[n, cols] as a matmul against `type` weights sees it, in f32: llama.cpp converts the
 * activations to the weights' vec_dot_type first. For Q8_0 that is the x86 quantize_row_q8_0:
 * scale = max|x| / 127 kept as f16, values x · 127 / max|x| rounded to nearest even.
 */
export function activationsFor(type: GgmlType, x: Float32Array, n: number, cols: number): Float32Array {
  const count = n * cols;
  switch (type) {
    case GGML_TYPE.F32:
      return x.subarray(0, count);
    case GGML_TYPE.F16:
    case GGML_TYPE.BF16: {
      const round = type === GGML_TYPE.F16 ? roundToHalf : roundToBfloat;
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = round(x[i]);
      return out;
    }
    case GGML_TYPE.Q8_0: {
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
