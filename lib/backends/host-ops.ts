import { floatToHalf } from '../tensors/quant/half.js';
import type { KvCache, RopeSpec } from './kernels.js';
import { ropeKey, ropeTable, rotateHead } from './rope-table.js';

/**
 * The ops a backend may run in plain JavaScript on host arrays, written once: the reference
 * backend runs them as its own, and a GPU backend keeps them on the host where moving their
 * operands into the device would cost more than the op (bias and residual adds, RoPE by table
 * lookup, f16 stores into an array KV cache).
 */
export class HostOps {
  private readonly ropeTables = new Map<string, Float32Array>();

  constructor(private readonly maxContextLen: number) {}

  /** x [n, width] += bias [width], row by row. */
  addBias(x: Float32Array, bias: Float32Array, n: number, width: number): void {
    for (let t = 0; t < n; t++) for (let i = 0; i < width; i++) x[t * width + i] += bias[i];
  }

  addInPlace(x: Float32Array, y: Float32Array, length: number): void {
    for (let i = 0; i < length; i++) x[i] += y[i];
  }

  /** Rotates each head of x [n, numHeads, headDim] by its token's position, with llama.cpp's cached angles. */
  rope(x: Float32Array, positions: Int32Array, n: number, numHeads: number, rope: RopeSpec): void {
    const table = this.ropeTable(rope);
    for (let t = 0; t < n; t++) {
      for (let h = 0; h < numHeads; h++) rotateHead(x, (t * numHeads + h) * rope.headDim, table, positions[t], rope);
    }
  }

  /** k and v [n, kvDim] into their slots of an array cache, rounded to f16 as llama.cpp's F16 cache stores them. */
  storeKv(cache: KvCache, layer: number, k: Float32Array, v: Float32Array, slotMapping: Int32Array, n: number): void {
    const d = cache.kvDim;
    for (let t = 0; t < n; t++) {
      for (let i = 0; i < d; i++) {
        cache.keys[layer][slotMapping[t] * d + i] = floatToHalf(k[t * d + i]);
        cache.values[layer][slotMapping[t] * d + i] = floatToHalf(v[t * d + i]);
      }
    }
  }

  dispose(): void {
    this.ropeTables.clear();
  }

  private ropeTable(rope: RopeSpec): Float32Array {
    const key = ropeKey(rope);
    let table = this.ropeTables.get(key);
    if (!table) this.ropeTables.set(key, (table = ropeTable(rope, this.maxContextLen)));
    return table;
  }
}
