import { floatToHalf, halfToFloat } from './half.js';

/**
 * Q8_0: blocks of 32 values, each an f16 scale `d` then 32 signed bytes; value = d · q
 * (ggml-common.h, block_q8_0). 34 bytes per block.
 */
export const Q8_0_BLOCK = 32;
export const Q8_0_BYTES = 34;

/** quantize_row_q8_0_ref: the scale from the block's largest magnitude, values rounded half away from zero. */
export function quantizeRowQ8_0(x: ArrayLike<number>, out: Uint8Array, outOffset = 0): void {
  if (x.length % Q8_0_BLOCK !== 0) throw new RangeError(`a Q8_0 row needs a multiple of ${Q8_0_BLOCK} values, got ${x.length}`);
  const view = new DataView(out.buffer, out.byteOffset + outOffset);
  for (let b = 0; b < x.length / Q8_0_BLOCK; b++) {
    let amax = 0;
    for (let j = 0; j < Q8_0_BLOCK; j++) amax = Math.max(amax, Math.abs(x[b * Q8_0_BLOCK + j]));
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    view.setUint16(b * Q8_0_BYTES, floatToHalf(d), true);
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const v = Math.fround(x[b * Q8_0_BLOCK + j] * id);
      view.setInt8(b * Q8_0_BYTES + 2 + j, v < 0 ? -Math.round(-v) : Math.round(v));
    }
  }
}

/** Values of one Q8_0 row of `cols` values starting at byte `offset` of `bytes`. */
export function dequantizeRowQ8_0(bytes: Uint8Array, offset: number, cols: number, out: Float32Array, outOffset = 0): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset);
  for (let b = 0; b < cols / Q8_0_BLOCK; b++) {
    const d = halfToFloat(view.getUint16(b * Q8_0_BYTES, true));
    for (let j = 0; j < Q8_0_BLOCK; j++) out[outOffset + b * Q8_0_BLOCK + j] = d * view.getInt8(b * Q8_0_BYTES + 2 + j);
  }
}
