import { halfToFloat } from './half.js';

/**
 * llama.cpp's first quantizations (ggml-common.h), in blocks of 32 values with an f16 scale d:
 * - Q4_0 (18 bytes): d, 16 bytes of 4-bit q; value d·(q − 8).
 * - Q4_1 (20 bytes): d, an f16 offset m, 16 bytes of q; value d·q + m.
 * - Q5_0 (22 bytes): d, 32 fifth bits (4 bytes), 16 bytes of low 4 bits; value d·(q − 16).
 * - Q5_1 (24 bytes): d, m, fifth bits, low bits; value d·q + m.
 * In each, byte j holds value j in its low nibble and value j + 16 in its high one, and bit j of
 * the fifth bits belongs to value j. K-quant files fall back to them for rows that are not whole
 * 256-value super-blocks (Q4_K → Q5_0, Q5_K → Q5_1). These read them as dequantize_row_* does.
 */
export const LEGACY_BLOCK = 32;

interface Layout {
  readonly bytes: number;
  readonly offset: boolean;
  readonly fifthBits: boolean;
}

const Q4_0 = { bytes: 18, offset: false, fifthBits: false };
const Q4_1 = { bytes: 20, offset: true, fifthBits: false };
const Q5_0 = { bytes: 22, offset: false, fifthBits: true };
const Q5_1 = { bytes: 24, offset: true, fifthBits: true };

function dequantizeRow(layout: Layout, bytes: Uint8Array, offset: number, cols: number, out: Float32Array, outOffset: number): void {
  const half = (at: number) => halfToFloat(bytes[at] | (bytes[at + 1] << 8));
  for (let b = 0; b < cols / LEGACY_BLOCK; b++) {
    const at = offset + b * layout.bytes;
    const d = half(at);
    const m = layout.offset ? half(at + 2) : 0;
    const qhAt = at + (layout.offset ? 4 : 2);
    const qh = layout.fifthBits ? (bytes[qhAt] | (bytes[qhAt + 1] << 8) | (bytes[qhAt + 2] << 16) | (bytes[qhAt + 3] << 24)) >>> 0 : 0;
    const qs = qhAt + (layout.fifthBits ? 4 : 0);
    const bias = layout.offset ? 0 : layout.fifthBits ? 16 : 8;
    const o = outOffset + b * LEGACY_BLOCK;
    for (let j = 0; j < 16; j++) {
      const lo = (bytes[qs + j] & 0xf) | (((qh >>> j) & 1) << 4);
      const hi = (bytes[qs + j] >> 4) | (((qh >>> (j + 16)) & 1) << 4);
      out[o + j] = layout.offset ? Math.fround(Math.fround(lo * d) + m) : Math.fround((lo - bias) * d);
      out[o + j + 16] = layout.offset ? Math.fround(Math.fround(hi * d) + m) : Math.fround((hi - bias) * d);
    }
  }
}

type RowDequantizer = (bytes: Uint8Array, offset: number, cols: number, out: Float32Array, outOffset?: number) => void;
const rowsOf = (layout: Layout): RowDequantizer => (bytes, offset, cols, out, outOffset = 0) => dequantizeRow(layout, bytes, offset, cols, out, outOffset);

export const dequantizeRowQ4_0 = rowsOf(Q4_0);
export const dequantizeRowQ4_1 = rowsOf(Q4_1);
export const dequantizeRowQ5_0 = rowsOf(Q5_0);
export const dequantizeRowQ5_1 = rowsOf(Q5_1);
