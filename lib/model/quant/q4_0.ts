import { halfToFloat } from './half.js';

/**
 * Q4_0: blocks of 32 values, an f16 scale `d` then 16 bytes of 4-bit values; the low nibbles are
 * values 0–15, the high nibbles 16–31, each d · (q − 8) (ggml-common.h, block_q4_0). 18 bytes.
 */
export const Q4_0_BLOCK = 32;
export const Q4_0_BYTES = 18;

/** Values of one Q4_0 row of `cols` values starting at byte `offset` of `bytes`. */
export function dequantizeRowQ4_0(bytes: Uint8Array, offset: number, cols: number, out: Float32Array, outOffset = 0): void {
  for (let b = 0; b < cols / Q4_0_BLOCK; b++) {
    const at = offset + b * Q4_0_BYTES;
    const d = halfToFloat(bytes[at] | (bytes[at + 1] << 8));
    const o = outOffset + b * Q4_0_BLOCK;
    for (let j = 0; j < 16; j++) {
      const q = bytes[at + 2 + j];
      out[o + j] = d * ((q & 0xf) - 8);
      out[o + j + 16] = d * ((q >> 4) - 8);
    }
  }
}
