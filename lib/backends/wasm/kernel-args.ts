/**
 * The argument blocks of the kernels a team shares: each such kernel takes a pointer to its
 * block (32-bit fields in this order, buffers as byte offsets in the shared memory), then its
 * share of the units and its thread's scratch. One list for both languages:
 * scripts/kernel-type-ids.ts writes the AssemblyScript classes the kernels read from it.
 */
export const KERNEL_ARGS = {
  /** out[n, rows] = x[n, cols] · wᵀ; xd and xs: the activations' block scales and sums, for quantized weights. */
  Matmul: ['out', 'x', 'xd', 'xs', 'w', 'n', 'rows', 'cols'],
  Attention: ['out', 'q', 'keys', 'values', 'blockTables', 'tokenSeq', 'positions', 'n', 'numHeads', 'numKvHeads', 'headDim', 'blockSize', 'maxBlocksPerSeq', 'maxContext'],
} as const;

export type KernelArgsName = keyof typeof KERNEL_ARGS;
export type KernelArgs<K extends KernelArgsName> = { readonly [F in (typeof KERNEL_ARGS)[K][number]]: number };

/** The most fields any block has: the size of a block, in 32-bit words. */
export const MAX_KERNEL_ARGS = Math.max(...Object.values(KERNEL_ARGS).map((fields) => fields.length));

/** Each block's fields by name, as their word offsets in the block: KERNEL_ARG_SLOTS.Matmul.rows === 6. */
export const KERNEL_ARG_SLOTS = Object.fromEntries(
  Object.entries(KERNEL_ARGS).map(([name, fields]) => [name, Object.freeze(Object.fromEntries(fields.map((f, i) => [f, i])))]),
) as { readonly [K in KernelArgsName]: KernelArgs<K> };

/** Writes `values` into `block` in the layout of `name` (a field left out is 0). */
export function writeKernelArgs<K extends KernelArgsName>(block: Int32Array, name: K, values: Partial<KernelArgs<K>>): void {
  const fields = KERNEL_ARGS[name] as readonly string[];
  for (let i = 0; i < fields.length; i++) block[i] = (values as Record<string, number | undefined>)[fields[i]] ?? 0;
}
