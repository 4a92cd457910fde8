/**
 * The tensor types of GGML/GGUF files (ggml.h's `enum ggml_type`): their names and how many
 * values a block holds in how many bytes. A row of `cols` values takes cols / blockValues
 * blocks, so `cols` must be a multiple of the block size.
 */
export const GGML_TYPE = Object.freeze({
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
});

export type GgmlType = (typeof GGML_TYPE)[keyof typeof GGML_TYPE];

interface TypeLayout {
  readonly name: string;
  readonly blockValues: number;
  readonly blockBytes: number;
}

const QK_K = 256;

/** Block layouts, from ggml.c's type_traits. */
const LAYOUTS: ReadonlyMap<number, TypeLayout> = new Map(
  (
    [
      ['F32', 1, 4],
      ['F16', 1, 2],
      ['Q4_0', 32, 18],
      ['Q4_1', 32, 20],
      ['Q5_0', 32, 22],
      ['Q5_1', 32, 24],
      ['Q8_0', 32, 34],
      ['Q8_1', 32, 36],
      ['Q2_K', QK_K, 84],
      ['Q3_K', QK_K, 110],
      ['Q4_K', QK_K, 144],
      ['Q5_K', QK_K, 176],
      ['Q6_K', QK_K, 210],
      ['Q8_K', QK_K, 292],
      ['IQ2_XXS', QK_K, 66],
      ['IQ2_XS', QK_K, 74],
      ['IQ3_XXS', QK_K, 98],
      ['IQ1_S', QK_K, 50],
      ['IQ4_NL', 32, 18],
      ['IQ3_S', QK_K, 110],
      ['IQ2_S', QK_K, 82],
      ['IQ4_XS', QK_K, 136],
      ['I8', 1, 1],
      ['I16', 1, 2],
      ['I32', 1, 4],
      ['I64', 1, 8],
      ['F64', 1, 8],
      ['IQ1_M', QK_K, 56],
      ['BF16', 1, 2],
      ['TQ1_0', QK_K, 54],
      ['TQ2_0', QK_K, 66],
      ['MXFP4', 32, 17],
    ] as const
  ).map(([name, blockValues, blockBytes]) => [GGML_TYPE[name], { name, blockValues, blockBytes }]),
);

export function isKnownGgmlType(type: number): type is GgmlType {
  return LAYOUTS.has(type);
}

export function ggmlTypeName(type: number): string {
  return LAYOUTS.get(type)?.name ?? `unknown type ${type}`;
}

/** Values per block of `type` (1 for plain float types). */
export function blockValues(type: GgmlType): number {
  return (LAYOUTS.get(type) as TypeLayout).blockValues;
}

/** Bytes of one row of `cols` values, or null when `cols` is not a whole number of blocks. */
export function rowBytes(type: GgmlType, cols: number): number | null {
  const layout = LAYOUTS.get(type) as TypeLayout;
  if (cols % layout.blockValues !== 0) return null;
  return (cols / layout.blockValues) * layout.blockBytes;
}
