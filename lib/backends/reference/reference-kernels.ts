import { activationsFor } from '../../tensors/quant/activations.js';
import { dequantize } from '../../tensors/dequantize.js';
import { halfToFloat, roundToHalf } from '../../tensors/quant/half.js';
import type { GgmlType } from '../../tensors/tensor-types.js';
import { createArrayKvCache, type AttentionBatch, type AttentionShape, type Kernels, type KvCache, type ResidentMatrix, type RopeSpec } from '../kernels.js';
import { type WeightTensor } from '../../tensors/weights.js';
import { HostOps } from '../host-ops.js';

class ReferenceMatrix implements ResidentMatrix {
  constructor(
    readonly type: GgmlType,
    /** the weights as f32 [rows, cols] */
    readonly data: Float32Array,
    readonly rows: number,
    readonly cols: number,
  ) {}
}

/**
 * The oracle: each kernel written the obvious way, accumulating in double precision, with
 * llama.cpp's conversions spelled out (see kernels.ts). Every other backend is tested against
 * this one. Not meant to be fast.
 */
export class ReferenceKernels implements Kernels {
  readonly name = 'reference';
  private readonly host: HostOps;

  constructor(maxContextLen = 4096) {
    this.host = new HostOps(maxContextLen);
  }

  allocateFloat32(length: number): Float32Array {
    return new Float32Array(length);
  }

  allocateInt32(length: number): Int32Array {
    return new Int32Array(length);
  }

  loadMatrix(w: WeightTensor): ResidentMatrix {
    return new ReferenceMatrix(w.type, dequantize(w.type, w.bytes, w.rows, w.cols), w.rows, w.cols);
  }

  createKvCache(numLayers: number, numSlots: number, kvDim: number): KvCache {
    return createArrayKvCache(numLayers, numSlots, kvDim);
  }

  embed(out: Float32Array, tokenIds: Int32Array, table: ResidentMatrix, n: number): void {
    const { data, cols } = table as ReferenceMatrix;
    for (let t = 0; t < n; t++) out.set(data.subarray(tokenIds[t] * cols, (tokenIds[t] + 1) * cols), t * cols);
  }

  matmul(out: Float32Array, x: Float32Array, w: ResidentMatrix, n: number): void {
    const { type, data, rows, cols } = w as ReferenceMatrix;
    const xs = activationsFor(type, x, n, cols);
    for (let t = 0; t < n; t++) {
      for (let r = 0; r < rows; r++) {
        let sum = 0;
        for (let c = 0; c < cols; c++) sum += xs[t * cols + c] * data[r * cols + c];
        out[t * rows + r] = sum;
      }
    }
  }

  addBias(x: Float32Array, bias: Float32Array, n: number, width: number): void {
    this.host.addBias(x, bias, n, width);
  }

  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, n: number, dim: number, eps: number): void {
    for (let t = 0; t < n; t++) {
      let ss = 0;
      for (let i = 0; i < dim; i++) ss += x[t * dim + i] * x[t * dim + i];
      const scale = 1 / Math.sqrt(ss / dim + eps);
      for (let i = 0; i < dim; i++) out[t * dim + i] = x[t * dim + i] * scale * weight[i];
    }
  }

  rope(x: Float32Array, positions: Int32Array, n: number, numHeads: number, rope: RopeSpec): void {
    this.host.rope(x, positions, n, numHeads, rope);
  }

  storeKv(cache: KvCache, layer: number, k: Float32Array, v: Float32Array, slotMapping: Int32Array, n: number): void {
    this.host.storeKv(cache, layer, k, v, slotMapping, n);
  }

  attention(out: Float32Array, q: Float32Array, cache: KvCache, layer: number, batch: AttentionBatch, shape: AttentionShape): void {
    const { numHeads, numKvHeads, headDim, blockSize, maxBlocksPerSeq } = shape;
    const keys = cache.keys[layer];
    const values = cache.values[layer];
    const kvDim = numKvHeads * headDim;
    const group = numHeads / numKvHeads;
    const scale = Math.fround(1 / Math.sqrt(headDim));
    let longest = 0;
    for (let t = 0; t < batch.numTokens; t++) longest = Math.max(longest, batch.positions[t] + 1);
    const weights = new Float64Array(longest);
    for (let t = 0; t < batch.numTokens; t++) {
      const table = batch.tokenSeq[t] * maxBlocksPerSeq;
      const contextLen = batch.positions[t] + 1;
      const slot = (p: number) => batch.blockTables[table + Math.floor(p / blockSize)] * blockSize + (p % blockSize);
      for (let h = 0; h < numHeads; h++) {
        const qBase = (t * numHeads + h) * headDim;
        const kvOffset = Math.floor(h / group) * headDim;
        let max = -Infinity;
        for (let p = 0; p < contextLen; p++) {
          let dot = 0;
          for (let i = 0; i < headDim; i++) dot += roundToHalf(q[qBase + i]) * halfToFloat(keys[slot(p) * kvDim + kvOffset + i]);
          weights[p] = Math.fround(dot) * scale;
          if (weights[p] > max) max = weights[p];
        }
        let denom = 0;
        for (let p = 0; p < contextLen; p++) {
          weights[p] = Math.exp(weights[p] - max);
          denom += weights[p];
        }
        for (let p = 0; p < contextLen; p++) weights[p] = roundToHalf(weights[p] / denom);
        for (let i = 0; i < headDim; i++) {
          let acc = 0;
          for (let p = 0; p < contextLen; p++) acc += weights[p] * halfToFloat(values[slot(p) * kvDim + kvOffset + i]);
          out[qBase + i] = acc;
        }
      }
    }
  }

  siluMul(out: Float32Array, gate: Float32Array, up: Float32Array, n: number, hidden: number): void {
    for (let i = 0; i < n * hidden; i++) out[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
  }

  addInPlace(x: Float32Array, y: Float32Array, length: number): void {
    this.host.addInPlace(x, y, length);
  }

  softmax(out: Float32Array, logits: Float32Array, invTemperature: Float32Array, n: number, vocab: number): void {
    for (let t = 0; t < n; t++) {
      const row = t * vocab;
      let max = -Infinity;
      for (let i = 0; i < vocab; i++) max = Math.max(max, logits[row + i] * invTemperature[t]);
      let sum = 0;
      for (let i = 0; i < vocab; i++) sum += Math.exp(logits[row + i] * invTemperature[t] - max);
      for (let i = 0; i < vocab; i++) out[row + i] = Math.exp(logits[row + i] * invTemperature[t] - max) / sum;
    }
  }

  dispose(): void {
    this.host.dispose();
  }
}
