import { GGML_TYPE, rowBytes, type GgmlType } from './tensor-types.js';

/** Where one tensor lies in a block of weights: llama.cpp's names, ggml type, sizes (fastest first). */
export interface TensorLayout {
  readonly name: string;
  readonly type: GgmlType;
  readonly dims: readonly number[];
  /** Bytes from the start of the block. */
  readonly offset: number;
}

/** A tensor a model is built from: its name, its sizes (fastest first, as GGUF has them), and whether it may be absent. */
export interface TensorSpec {
  readonly name: string;
  readonly dims: readonly number[];
  readonly optional: boolean;
}

/** A weight matrix [rows, cols] in its file's type: each row is cols / blockValues blocks. */
export interface WeightTensor {
  readonly type: GgmlType;
  readonly rows: number;
  readonly cols: number;
  /** rows · rowBytes(type, cols) bytes */
  readonly bytes: Uint8Array;
  /**
   * Names these bytes for as long as they live: a backend that keeps a converted copy of a
   * matrix may share it between the threads of a process by this key, which no other bytes
   * ever carry. Absent for a matrix that is not loaded weights (nothing is shared then).
   */
  readonly key?: string;
}

/** Bytes a layout spans. */
export function layoutBytes(layout: readonly TensorLayout[]): number {
  let end = 0; // a loop, not Math.max(...): a spread of tens of thousands of tensors overflows the stack
  for (const t of layout) end = Math.max(end, t.offset + (rowBytes(t.type, t.dims[0]) as number) * t.dims.slice(1).reduce((a, b) => a * b, 1));
  return end;
}

/** `specs` laid out as F32 tensors packed in their order, 32-byte aligned (a built-in model's weights). */
export function f32Layout(specs: readonly TensorSpec[]): TensorLayout[] {
  let offset = 0;
  return specs.map(({ name, dims }) => {
    const t = { name, type: GGML_TYPE.F32, dims, offset };
    offset += Math.ceil((4 * dims.reduce((a, b) => a * b, 1)) / 32) * 32;
    return t;
  });
}

/** An f32 matrix as a WeightTensor, viewing the same memory. */
export function f32Tensor(values: Float32Array, rows: number, cols: number): WeightTensor {
  if (values.length !== rows * cols) throw new RangeError(`matrix holds ${values.length} values, expected ${rows}×${cols}`);
  return { type: GGML_TYPE.F32, rows, cols, bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}
