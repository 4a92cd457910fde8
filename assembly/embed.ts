import { halfToFloat } from './half';
import { dequantizeRowLegacy, dequantizeRowQ45K, dequantizeRowQ6K, Q4_K_BYTES, Q5_K_BYTES, Q6_K_BYTES, QK_K } from './quant-blocks';

/**
 * out[t] = table[tokenIds[t]] in f32 (ggml's get_rows): the embedding rows of a batch, converted
 * from the table's type. `type` is the ggml type id: 0 F32, 1 F16, 2 Q4_0, 3 Q4_1, 6 Q5_0, 7 Q5_1, 8 Q8_0, 12 Q4_K,
 * 13 Q5_K, 14 Q6_K, 30 BF16.
 */
export function embed(out: usize, tokenIds: usize, table: usize, n: i32, cols: i32, type: i32): void {
  const outRow = <usize>cols << 2;
  for (let t: i32 = 0; t < n; t++) {
    const id = <usize>load<i32>(tokenIds + (<usize>t << 2));
    const o = out + <usize>t * outRow;
    if (type == 0) {
      memory.copy(o, table + id * outRow, outRow);
    } else if (type == 1 || type == 30) {
      const row = table + id * (<usize>cols << 1);
      for (let c: i32 = 0; c < cols; c++) {
        const bits = <u32>load<u16>(row + (<usize>c << 1));
        store<f32>(o + (<usize>c << 2), type == 1 ? halfToFloat(bits) : reinterpret<f32>(bits << 16));
      }
    } else if (type == 8) {
      const row = table + id * (<usize>(cols / 32) * 34);
      for (let b: i32 = 0; b < cols / 32; b++) {
        const block = row + <usize>b * 34;
        const d = halfToFloat(load<u16>(block));
        for (let j: i32 = 0; j < 32; j++) store<f32>(o + (<usize>(b * 32 + j) << 2), d * <f32>load<i8>(block + 2 + <usize>j));
      }
    } else if (type == 2 || type == 3 || type == 6 || type == 7) {
      dequantizeRowLegacy(o, table + id * (<usize>(cols / 32) * <usize>(type == 2 ? 18 : type == 3 ? 20 : type == 6 ? 22 : 24)), cols, type);
    } else if (type == 12 || type == 13) {
      dequantizeRowQ45K(o, table + id * (<usize>(cols / QK_K) * (type == 12 ? Q4_K_BYTES : Q5_K_BYTES)), cols, type == 13);
    } else if (type == 14) {
      dequantizeRowQ6K(o, table + id * (<usize>(cols / QK_K) * Q6_K_BYTES), cols);
    } else {
      unreachable();
    }
  }
}
