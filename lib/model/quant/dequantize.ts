import { GGML_TYPE, ggmlTypeName, rowBytes, type GgmlType } from '../formats/ggml-types.js';
import { bfloatToFloat, halfToFloat } from './half.js';
import { dequantizeRowQ4_K, dequantizeRowQ5_K, dequantizeRowQ6_K } from './k-quants.js';
import { dequantizeRowQ4_0, dequantizeRowQ4_1, dequantizeRowQ5_0, dequantizeRowQ5_1 } from './legacy-quants.js';
import { dequantizeRowQ8_0 } from './q8_0.js';

/** The types whose rows this build can turn into f32 (and so compute with). */
export const MATRIX_TYPES: readonly GgmlType[] = [GGML_TYPE.F32, GGML_TYPE.F16, GGML_TYPE.BF16, GGML_TYPE.Q8_0, GGML_TYPE.Q4_0, GGML_TYPE.Q4_1, GGML_TYPE.Q5_0, GGML_TYPE.Q5_1, GGML_TYPE.Q4_K, GGML_TYPE.Q5_K, GGML_TYPE.Q6_K];

const BLOCK_ROWS = new Map([
  [GGML_TYPE.Q8_0, dequantizeRowQ8_0],
  [GGML_TYPE.Q4_0, dequantizeRowQ4_0],
  [GGML_TYPE.Q4_1, dequantizeRowQ4_1],
  [GGML_TYPE.Q5_0, dequantizeRowQ5_0],
  [GGML_TYPE.Q5_1, dequantizeRowQ5_1],
  [GGML_TYPE.Q4_K, dequantizeRowQ4_K],
  [GGML_TYPE.Q5_K, dequantizeRowQ5_K],
  [GGML_TYPE.Q6_K, dequantizeRowQ6_K],
] as const);

export function isMatrixType(type: number): boolean {
  return (MATRIX_TYPES as readonly number[]).includes(type);
}

/** Row `r` of a [rows, cols] tensor of `type` in `bytes`, as f32 values into out[outOffset…]. */
export function dequantizeRow(type: GgmlType, bytes: Uint8Array, cols: number, r: number, out: Float32Array, outOffset = 0): void {
  const stride = rowBytes(type, cols) as number;
  const at = bytes.byteOffset + r * stride;
  switch (type) {
    case GGML_TYPE.F32:
      out.set(new Float32Array(bytes.buffer.slice(at, at + 4 * cols) as ArrayBuffer), outOffset);
      return;
    case GGML_TYPE.F16:
    case GGML_TYPE.BF16: {
      const view = new DataView(bytes.buffer, at, 2 * cols);
      const convert = type === GGML_TYPE.F16 ? halfToFloat : bfloatToFloat;
      for (let c = 0; c < cols; c++) out[outOffset + c] = convert(view.getUint16(2 * c, true));
      return;
    }
    default: {
      const dequantizeBlocks = BLOCK_ROWS.get(type as never);
      if (!dequantizeBlocks) throw new RangeError(`cannot dequantize ${ggmlTypeName(type)}`);
      dequantizeBlocks(bytes, r * stride, cols, out, outOffset);
    }
  }
}

/** The whole tensor as f32 [rows, cols]. */
export function dequantize(type: GgmlType, bytes: Uint8Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) dequantizeRow(type, bytes, cols, r, out, r * cols);
  return out;
}
