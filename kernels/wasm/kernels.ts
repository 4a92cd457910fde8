/*
 * The forward pass's kernels in WebAssembly with 128-bit SIMD (f32x4), compiled by
 * AssemblyScript into lib/backends/wasm/kernels.wasm. Every argument that names a buffer is a
 * byte offset into the one shared memory the module imports, where the weights live once for
 * every engine worker and each worker keeps its own activations and KV cache. Buffers are
 * row-major f32 (i32 for indices, f16 for the KV cache, the file's own types for weights); `n` is
 * the number of rows (tokens). No function allocates.
 */

export { matmulF32, matmulF16, matmulBf16, roundRows } from './matmul';
export { embed } from './embed';
export { attention, attentionScratchBytes } from './attention';
export { addBias, addInPlace, rmsNorm, rope, siluMul, softmax, storeKv } from './elementwise';
export { matmulQ4_K, matmulQ5_K, matmulQ6_K, quantizeQ8_K } from './matmul-kquants';
export { matmulQ4_0, matmulQ4_1, matmulQ5_0, matmulQ5_1, matmulQ8_0, quantizeQ8_0 } from './matmul-q32';
