import { halfToFloat } from './half.js';

/**
 * The "K" quantizations of llama.cpp (ggml-common.h), in super-blocks of 256 values:
 * - Q4_K (144 bytes): f16 d, f16 dmin, 12 bytes packing eight 6-bit scales and eight 6-bit mins,
 *   128 bytes of 4-bit values; sub-block j of 32 values is d·scale_j·q − dmin·min_j.
 * - Q5_K (176 bytes): as Q4_K, plus 32 bytes holding each value's fifth bit.
 * - Q6_K (210 bytes): 128 bytes of low 4 bits, 64 bytes of high 2 bits, sixteen signed 8-bit
 *   scales (one per 16 values), f16 d; value d·scale·(q − 32).
 * These read them back exactly as dequantize_row_q{4,5,6}_K does (ggml-quants.c).
 */
export const QK_K = 256;
export const Q4_K_BYTES = 144;
export const Q5_K_BYTES = 176;
export const Q6_K_BYTES = 210;

const half = (b: Uint8Array, at: number) => halfToFloat(b[at] | (b[at + 1] << 8));

/** get_scale_min_k4: the 6-bit scale and min of sub-block j from the 12 packed bytes at `q`. */
export function scaleMinK4(j: number, b: Uint8Array, q: number): [scale: number, min: number] {
  if (j < 4) return [b[q + j] & 63, b[q + j + 4] & 63];
  return [(b[q + j + 4] & 0xf) | ((b[q + j - 4] >> 6) << 4), (b[q + j + 4] >> 4) | ((b[q + j] >> 6) << 4)];
}

/** Q4_K (fifthBits false) or Q5_K (true) row of `cols` values at byte `offset`. */
function dequantizeRowQ45K(fifthBits: boolean, bytes: Uint8Array, offset: number, cols: number, out: Float32Array, outOffset: number): void {
  const blockBytes = fifthBits ? Q5_K_BYTES : Q4_K_BYTES;
  for (let b = 0; b < cols / QK_K; b++) {
    const at = offset + b * blockBytes;
    const d = half(bytes, at);
    const dmin = half(bytes, at + 2);
    const qh = at + 16; // Q5_K only
    const qs = at + (fifthBits ? 48 : 16);
    for (let j = 0; j < 8; j++) {
      const [scale, min] = scaleMinK4(j, bytes, at + 4);
      const d1 = Math.fround(d * scale);
      const m1 = Math.fround(dmin * min);
      const chunk = qs + 32 * (j >> 1);
      const o = outOffset + b * QK_K + 32 * j;
      for (let l = 0; l < 32; l++) {
        const nibble = j & 1 ? bytes[chunk + l] >> 4 : bytes[chunk + l] & 0xf;
        const high = fifthBits && bytes[qh + l] & (1 << j) ? 16 : 0;
        out[o + l] = Math.fround(d1 * (nibble + high)) - m1;
      }
    }
  }
}

export function dequantizeRowQ4_K(bytes: Uint8Array, offset: number, cols: number, out: Float32Array, outOffset = 0): void {
  dequantizeRowQ45K(false, bytes, offset, cols, out, outOffset);
}

export function dequantizeRowQ5_K(bytes: Uint8Array, offset: number, cols: number, out: Float32Array, outOffset = 0): void {
  dequantizeRowQ45K(true, bytes, offset, cols, out, outOffset);
}

export function dequantizeRowQ6_K(bytes: Uint8Array, offset: number, cols: number, out: Float32Array, outOffset = 0): void {
  for (let b = 0; b < cols / QK_K; b++) {
    const at = offset + b * Q6_K_BYTES;
    const d = half(bytes, at + 208);
    for (let h = 0; h < 2; h++) {
      const ql = at + 64 * h;
      const qh = at + 128 + 32 * h;
      const sc = at + 192 + 8 * h;
      const o = outOffset + b * QK_K + 128 * h;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const high = bytes[qh + l];
        const q1 = ((bytes[ql + l] & 0xf) | ((high & 3) << 4)) - 32;
        const q2 = ((bytes[ql + l + 32] & 0xf) | (((high >> 2) & 3) << 4)) - 32;
        const q3 = ((bytes[ql + l] >> 4) | (((high >> 4) & 3) << 4)) - 32;
        const q4 = ((bytes[ql + l + 32] >> 4) | (((high >> 6) & 3) << 4)) - 32;
        const scale = (k: number) => Math.fround(d * ((bytes[sc + is + k] << 24) >> 24));
        out[o + l] = Math.fround(scale(0) * q1);
        out[o + l + 32] = Math.fround(scale(2) * q2);
        out[o + l + 64] = Math.fround(scale(4) * q3);
        out[o + l + 96] = Math.fround(scale(6) * q4);
      }
    }
  }
}
