import { GGML_TYPE, type GgmlType } from '../../tensors/tensor-types.js';

/** A matmul kernel of kernels/wasm/ by its export name; each takes its argument block, [start, end) of its rows, its scratch. */
export type MatmulKernel = `matmul${string}`;

/**
 * The matmul kernel of each weight type the wasm kernels multiply (the activations are converted
 * first to the type's dot type, from the tensor type table): adding a type adds its kernel here.
 */
export const WASM_MATMULS: ReadonlyMap<GgmlType, MatmulKernel> = new Map<GgmlType, MatmulKernel>([
  [GGML_TYPE.F32, 'matmulF32'],
  [GGML_TYPE.F16, 'matmulF16'],
  [GGML_TYPE.BF16, 'matmulBf16'],
  [GGML_TYPE.Q8_0, 'matmulQ8_0'],
  [GGML_TYPE.Q4_0, 'matmulQ4_0'],
  [GGML_TYPE.Q4_1, 'matmulQ4_1'],
  [GGML_TYPE.Q5_0, 'matmulQ5_0'],
  [GGML_TYPE.Q5_1, 'matmulQ5_1'],
  [GGML_TYPE.Q4_K, 'matmulQ4_K'],
  [GGML_TYPE.Q5_K, 'matmulQ5_K'],
  [GGML_TYPE.Q6_K, 'matmulQ6_K'],
]);

/** A kernel a team can split: every matmul, and attention (over its sequences and heads). */
export type TeamKernel = MatmulKernel | 'attention';

/** The team's kernels by id: the engine's thread posts an index into this list, the helpers read it back. */
export const TEAM_KERNELS: readonly TeamKernel[] = [...new Set(WASM_MATMULS.values()), 'attention'];
