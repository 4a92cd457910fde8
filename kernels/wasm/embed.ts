import { halfToFloat } from './half';
import { dequantizeRowLegacy, dequantizeRowQ45K, dequantizeRowQ6K, QK_K } from './quant-blocks';
import { Q4_0_BYTES, Q4_1_BYTES, Q4_K_BYTES, Q5_0_BYTES, Q5_1_BYTES, Q5_K_BYTES, Q6_K_BYTES, Q8_0_BYTES, TYPE_BF16, TYPE_F16, TYPE_F32, TYPE_Q4_0, TYPE_Q4_1, TYPE_Q4_K, TYPE_Q5_0, TYPE_Q5_1, TYPE_Q5_K, TYPE_Q6_K, TYPE_Q8_0 } from './tensor-types.generated';

/**
 * out[t] = table[tokenIds[t]] in f32 (ggml's get_rows): the embedding rows of a batch, converted
 * from the table's type (its ggml type id, TYPE_… of the generated table).
 */
export function embed(out: usize, tokenIds: usize, table: usize, n: i32, cols: i32, type: i32): void {
  const outRow = <usize>cols << 2;
  for (let t: i32 = 0; t < n; t++) {
    const id = <usize>load<i32>(tokenIds + (<usize>t << 2));
    const o = out + <usize>t * outRow;
    if (type == TYPE_F32) {
      memory.copy(o, table + id * outRow, outRow);
    } else if (type == TYPE_F16 || type == TYPE_BF16) {
      const row = table + id * (<usize>cols << 1);
      for (let c: i32 = 0; c < cols; c++) {
        const bits = <u32>load<u16>(row + (<usize>c << 1));
        store<f32>(o + (<usize>c << 2), type == TYPE_F16 ? halfToFloat(bits) : reinterpret<f32>(bits << 16));
      }
    } else if (type == TYPE_Q8_0) {
      const row = table + id * (<usize>(cols / 32) * Q8_0_BYTES);
      for (let b: i32 = 0; b < cols / 32; b++) {
        const block = row + <usize>b * Q8_0_BYTES;
        const d = halfToFloat(load<u16>(block));
        for (let j: i32 = 0; j < 32; j++) store<f32>(o + (<usize>(b * 32 + j) << 2), d * <f32>load<i8>(block + 2 + <usize>j));
      }
    } else if (type == TYPE_Q4_0 || type == TYPE_Q4_1 || type == TYPE_Q5_0 || type == TYPE_Q5_1) {
      const bytes = type == TYPE_Q4_0 ? Q4_0_BYTES : type == TYPE_Q4_1 ? Q4_1_BYTES : type == TYPE_Q5_0 ? Q5_0_BYTES : Q5_1_BYTES;
      dequantizeRowLegacy(o, table + id * (<usize>(cols / 32) * bytes), cols, type);
    } else if (type == TYPE_Q4_K || type == TYPE_Q5_K) {
      dequantizeRowQ45K(o, table + id * (<usize>(cols / QK_K) * (type == TYPE_Q4_K ? Q4_K_BYTES : Q5_K_BYTES)), cols, type == TYPE_Q5_K);
    } else if (type == TYPE_Q6_K) {
      dequantizeRowQ6K(o, table + id * (<usize>(cols / QK_K) * Q6_K_BYTES), cols);
    } else {
      unreachable();
    }
  }
}
