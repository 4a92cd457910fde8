import type { GgmlType } from '../../tensors/tensor-types.js';
import type { WeightTensor } from '../../tensors/weights.js';
import { createArrayKvCache, type AttentionBatch, type AttentionShape, type Kernels, type KvCache, type ResidentMatrix, type RopeSpec } from '../kernels.js';
import { ropeKey, ropeTable } from '../rope-table.js';
import type { NativeAddon, NativeContext, NativeMatrix } from './native-addon.js';

export interface NativeKernelOptions {
  readonly maxContextLen: number;
  readonly threads: number;
  /** The SIMD path: avx512-vnni or avx2 (the CPU must have it). */
  readonly isa: string;
  /** The weights come from a mapped file: their pages may leave memory once repacked. */
  readonly weightsMapped: boolean;
}

interface NativeResident extends ResidentMatrix {
  readonly handle: NativeMatrix;
}

/**
 * The kernels contract over the native addon (kernels/native): C++ kernels for AVX-512 VNNI or
 * AVX2, on a thread pool of the addon's own. Activations, the KV cache and the RoPE tables are
 * ordinary typed arrays the addon reads and writes in place; weight matrices are repacked by the
 * addon into its own memory once per process, so every engine worker of a process shares them
 * and no model size limit but the machine's applies.
 */
export class NativeKernels implements Kernels {
  readonly name: string;
  private readonly ctx: NativeContext;
  private readonly matrices: NativeMatrix[] = [];
  private readonly ropeTables = new Map<string, Float32Array>();

  constructor(
    private readonly addon: NativeAddon,
    private readonly options: NativeKernelOptions,
  ) {
    this.ctx = addon.createContext(options.threads, options.isa);
    this.name = `native-${options.isa}`;
  }

  /** How often the thread pool ran calls with its helpers, and on the calling thread alone. */
  poolStats(): { isa: string; threads: number; teamRuns: number; soloRuns: number } {
    return this.addon.poolStats(this.ctx);
  }

  allocateFloat32(length: number): Float32Array {
    return new Float32Array(length);
  }

  allocateInt32(length: number): Int32Array {
    return new Int32Array(length);
  }

  loadMatrix(w: WeightTensor): ResidentMatrix {
    const handle = this.addon.loadMatrix(this.ctx, w.bytes, w.type, w.rows, w.cols, w.key ?? '', this.options.weightsMapped);
    this.matrices.push(handle);
    const resident: NativeResident = { type: w.type as GgmlType, rows: w.rows, cols: w.cols, handle };
    return resident;
  }

  createKvCache(numLayers: number, numSlots: number, kvDim: number): KvCache {
    return createArrayKvCache(numLayers, numSlots, kvDim);
  }

  embed(out: Float32Array, tokenIds: Int32Array, table: ResidentMatrix, n: number): void {
    this.addon.embed(this.ctx, out, tokenIds, (table as NativeResident).handle, n);
  }

  matmul(out: Float32Array, x: Float32Array, w: ResidentMatrix, n: number): void {
    this.addon.matmul(this.ctx, out, x, (w as NativeResident).handle, n);
  }

  addBias(x: Float32Array, bias: Float32Array, n: number, width: number): void {
    this.addon.addBias(this.ctx, x, bias, n, width);
  }

  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, n: number, dim: number, eps: number): void {
    this.addon.rmsNorm(this.ctx, out, x, weight, n, dim, eps);
  }

  rope(x: Float32Array, positions: Int32Array, n: number, numHeads: number, rope: RopeSpec): void {
    this.addon.rope(this.ctx, x, positions, this.ropeTable(rope), n, numHeads, rope.headDim, rope.style === 'neox', this.options.maxContextLen);
  }

  storeKv(cache: KvCache, layer: number, k: Float32Array, v: Float32Array, slotMapping: Int32Array, n: number): void {
    this.addon.storeKv(this.ctx, cache.keys[layer], cache.values[layer], k, v, slotMapping, n, cache.kvDim);
  }

  attention(out: Float32Array, q: Float32Array, cache: KvCache, layer: number, batch: AttentionBatch, shape: AttentionShape): void {
    this.addon.attention(
      this.ctx,
      out,
      q,
      cache.keys[layer],
      cache.values[layer],
      batch.blockTables,
      batch.tokenSeq,
      batch.positions,
      batch.numTokens,
      shape.numHeads,
      shape.numKvHeads,
      shape.headDim,
      shape.blockSize,
      shape.maxBlocksPerSeq,
    );
  }

  siluMul(out: Float32Array, gate: Float32Array, up: Float32Array, n: number, hidden: number): void {
    this.addon.siluMul(this.ctx, out, gate, up, n * hidden);
  }

  addInPlace(x: Float32Array, y: Float32Array, length: number): void {
    this.addon.addInPlace(this.ctx, x, y, length);
  }

  softmax(out: Float32Array, logits: Float32Array, invTemperature: Float32Array, n: number, vocab: number): void {
    this.addon.softmax(this.ctx, out, logits, invTemperature, n, vocab);
  }

  dispose(): void {
    for (const m of this.matrices) this.addon.releaseMatrix(m);
    this.matrices.length = 0;
    this.ropeTables.clear();
  }

  private ropeTable(rope: RopeSpec): Float32Array {
    const key = ropeKey(rope);
    let table = this.ropeTables.get(key);
    if (!table) this.ropeTables.set(key, (table = ropeTable(rope, this.options.maxContextLen)));
    return table;
  }
}
