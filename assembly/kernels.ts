/*
 * The forward pass's kernels in WebAssembly with 128-bit SIMD (f32x4), compiled by
 * AssemblyScript into lib/model/kernels/kernels.wasm. Every argument that names a buffer is a
 * byte offset into the one shared memory the module imports, where the weights live once for
 * every engine worker and each worker keeps its own activations and KV cache. Buffers are
 * row-major f32 (i32 for indices); `n` is the number of rows (tokens). No function allocates.
 */

export { matmul } from './matmul';
export { attention } from './attention';
export { addInPlace, rmsNorm, rope, siluMul, softmax, storeKv } from './elementwise';
