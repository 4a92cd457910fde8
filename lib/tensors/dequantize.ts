import { bfloatToFloat, halfToFloat } from './quant/half.js';
import { GGML_TYPE, ggmlTypeName, rowBytes, tensorType, type GgmlType } from './tensor-types.js';

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
      const dequantizeBlocks = tensorType(type).dequantizeRow;
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
