import { GGML_TYPE, type GgmlType } from './ggml-type.js';
import { dequantizeRowQ4_K, dequantizeRowQ5_K, dequantizeRowQ6_K } from './quant/k-quants.js';
import { dequantizeRowQ4_0, dequantizeRowQ4_1, dequantizeRowQ5_0, dequantizeRowQ5_1 } from './quant/legacy-quants.js';
import { dequantizeRowQ8_0 } from './quant/q8_0.js';

export { GGML_TYPE, type GgmlType } from './ggml-type.js';

/**
 * What a matmul converts its activations to before it meets weights of a type: llama.cpp's
 * vec_dot_type. F32 weights take them as they are; F16 and BF16 round them; the 32-value block
 * types take Q8_0 blocks (Q8_1, the same values with each block's sum, for the offset types);
 * the K-quants take Q8_K super-blocks.
 */
export type DotType = 'f32' | 'f16' | 'bf16' | 'Q8_0' | 'Q8_1' | 'Q8_K';

/** Row `offset…` of `cols` values, dequantized to out[outOffset…], as llama.cpp's dequantize_row_*. */
export type RowDequantizer = (bytes: Uint8Array, offset: number, cols: number, out: Float32Array, outOffset?: number) => void;

/** One ggml type: how its blocks are laid out, and, for those this project computes with, its dot type and dequantizer. */
export interface TensorType {
  readonly id: GgmlType;
  readonly name: string;
  /** Values per block (1 for plain numbers). */
  readonly blockValues: number;
  readonly blockBytes: number;
  /** null: a type of the file format this project cannot compute with. */
  readonly dot: DotType | null;
  /** For block types; the float types convert in place (see tensors/dequantize.ts). */
  readonly dequantizeRow: RowDequantizer | null;
}

const QK_K = 256;

const row = (name: keyof typeof GGML_TYPE, blockValues: number, blockBytes: number, dot: DotType | null = null, dequantizeRow: RowDequantizer | null = null): TensorType => ({
  id: GGML_TYPE[name],
  name,
  blockValues,
  blockBytes,
  dot,
  dequantizeRow,
});

/**
 * Every ggml type, from ggml.c's type_traits: the one table every other list is derived from
 * (what a file may hold, what a backend multiplies, the kernels' type ids). Adding a type this
 * project computes with is a row here plus a kernel per backend.
 */
export const TENSOR_TYPES: readonly TensorType[] = [
  row('F32', 1, 4, 'f32'),
  row('F16', 1, 2, 'f16'),
  row('BF16', 1, 2, 'bf16'),
  row('Q8_0', 32, 34, 'Q8_0', dequantizeRowQ8_0),
  row('Q4_0', 32, 18, 'Q8_0', dequantizeRowQ4_0),
  row('Q4_1', 32, 20, 'Q8_1', dequantizeRowQ4_1),
  row('Q5_0', 32, 22, 'Q8_0', dequantizeRowQ5_0),
  row('Q5_1', 32, 24, 'Q8_1', dequantizeRowQ5_1),
  row('Q4_K', QK_K, 144, 'Q8_K', dequantizeRowQ4_K),
  row('Q5_K', QK_K, 176, 'Q8_K', dequantizeRowQ5_K),
  row('Q6_K', QK_K, 210, 'Q8_K', dequantizeRowQ6_K),
  row('Q8_1', 32, 36),
  row('Q2_K', QK_K, 84),
  row('Q3_K', QK_K, 110),
  row('Q8_K', QK_K, 292),
  row('IQ2_XXS', QK_K, 66),
  row('IQ2_XS', QK_K, 74),
  row('IQ3_XXS', QK_K, 98),
  row('IQ1_S', QK_K, 50),
  row('IQ4_NL', 32, 18),
  row('IQ3_S', QK_K, 110),
  row('IQ2_S', QK_K, 82),
  row('IQ4_XS', QK_K, 136),
  row('I8', 1, 1),
  row('I16', 1, 2),
  row('I32', 1, 4),
  row('I64', 1, 8),
  row('F64', 1, 8),
  row('IQ1_M', QK_K, 56),
  row('TQ1_0', QK_K, 54),
  row('TQ2_0', QK_K, 66),
  row('MXFP4', 32, 17),
];

const BY_ID: ReadonlyMap<number, TensorType> = new Map(TENSOR_TYPES.map((t) => [t.id, t]));

/** The types this project computes with (a dot type of its own), in the table's order. */
export const COMPUTED_TYPES: readonly GgmlType[] = TENSOR_TYPES.filter((t) => t.dot !== null).map((t) => t.id);

export function tensorType(type: GgmlType): TensorType {
  return BY_ID.get(type) as TensorType;
}

export function isKnownGgmlType(type: number): type is GgmlType {
  return BY_ID.has(type);
}

export function ggmlTypeName(type: number): string {
  return BY_ID.get(type)?.name ?? `unknown type ${type}`;
}

/** Values per block of `type` (1 for plain float types). */
export function blockValues(type: GgmlType): number {
  return tensorType(type).blockValues;
}

/** Bytes of one row of `cols` values, or null when `cols` is not a whole number of blocks. */
export function rowBytes(type: GgmlType, cols: number): number | null {
  const t = tensorType(type);
  if (cols % t.blockValues !== 0) return null;
  return (cols / t.blockValues) * t.blockBytes;
}
