import { createArrayKvCache, type AttentionBatch, type AttentionShape, type Kernels, type KvCache, type ResidentMatrix } from './kernels.js';

class ReferenceMatrix implements ResidentMatrix {
  constructor(
    readonly data: Float32Array,
    readonly rows: number,
    readonly cols: number,
  ) {}
}

/**
 * The oracle: each kernel written the obvious way, accumulating in double precision. Every other
 * backend is tested against this one. Not meant to be fast.
 */
export class ReferenceKernels implements Kernels {
  readonly name = 'reference';

  allocateFloat32(length: number): Float32Array {
    return new Float32Array(length);
  }

  allocateInt32(length: number): Int32Array {
    return new Int32Array(length);
  }

  loadMatrix(w: Float32Array, rows: number, cols: number): ResidentMatrix {
    if (w.length !== rows * cols) throw new RangeError(`matrix holds ${w.length} values, expected ${rows}×${cols}`);
    return new ReferenceMatrix(w, rows, cols);
  }

  createKvCache(numLayers: number, numSlots: number, kvDim: number): KvCache {
    return createArrayKvCache(numLayers, numSlots, kvDim);
  }

  matmul(out: Float32Array, x: Float32Array, w: ResidentMatrix, n: number): void {
    const { data, rows, cols } = w as ReferenceMatrix;
    for (let t = 0; t < n; t++) {
      for (let r = 0; r < rows; r++) {
        let sum = 0;
        for (let c = 0; c < cols; c++) sum += x[t * cols + c] * data[r * cols + c];
        out[t * rows + r] = sum;
      }
    }
  }

  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, n: number, dim: number, eps: number): void {
    for (let t = 0; t < n; t++) {
      let ss = 0;
      for (let i = 0; i < dim; i++) ss += x[t * dim + i] * x[t * dim + i];
      const scale = 1 / Math.sqrt(ss / dim + eps);
      for (let i = 0; i < dim; i++) out[t * dim + i] = x[t * dim + i] * scale * weight[i];
    }
  }

  rope(x: Float32Array, positions: Int32Array, n: number, numHeads: number, headDim: number, theta: number): void {
    const half = headDim / 2;
    for (let t = 0; t < n; t++) {
      for (let h = 0; h < numHeads; h++) {
        const base = (t * numHeads + h) * headDim;
        for (let i = 0; i < half; i++) {
          const angle = positions[t] * Math.pow(theta, (-2 * i) / headDim);
          const cos = Math.cos(angle);
          const sin = Math.sin(angle);
          const a = x[base + i];
          const b = x[base + i + half];
          x[base + i] = a * cos - b * sin;
          x[base + i + half] = b * cos + a * sin;
        }
      }
    }
  }

  storeKv(cache: KvCache, layer: number, k: Float32Array, v: Float32Array, slotMapping: Int32Array, n: number): void {
    const d = cache.kvDim;
    for (let t = 0; t < n; t++) {
      cache.keys[layer].set(k.subarray(t * d, (t + 1) * d), slotMapping[t] * d);
      cache.values[layer].set(v.subarray(t * d, (t + 1) * d), slotMapping[t] * d);
    }
  }

  attention(out: Float32Array, q: Float32Array, cache: KvCache, layer: number, batch: AttentionBatch, shape: AttentionShape): void {
    const { numHeads, numKvHeads, headDim, blockSize, maxBlocksPerSeq } = shape;
    const keys = cache.keys[layer];
    const values = cache.values[layer];
    const kvDim = numKvHeads * headDim;
    const group = numHeads / numKvHeads;
    const scale = 1 / Math.sqrt(headDim);
    let longest = 0;
    for (let t = 0; t < batch.numTokens; t++) longest = Math.max(longest, batch.positions[t] + 1);
    const scores = new Float64Array(longest);
    for (let t = 0; t < batch.numTokens; t++) {
      const table = batch.tokenSeq[t] * maxBlocksPerSeq;
      const contextLen = batch.positions[t] + 1;
      for (let h = 0; h < numHeads; h++) {
        const qBase = (t * numHeads + h) * headDim;
        const kvOffset = Math.floor(h / group) * headDim;
        let max = -Infinity;
        for (let p = 0; p < contextLen; p++) {
          const slot = batch.blockTables[table + Math.floor(p / blockSize)] * blockSize + (p % blockSize);
          let dot = 0;
          for (let i = 0; i < headDim; i++) dot += q[qBase + i] * keys[slot * kvDim + kvOffset + i];
          scores[p] = dot * scale;
          if (scores[p] > max) max = scores[p];
        }
        let denom = 0;
        for (let p = 0; p < contextLen; p++) {
          scores[p] = Math.exp(scores[p] - max);
          denom += scores[p];
        }
        for (let i = 0; i < headDim; i++) {
          let acc = 0;
          for (let p = 0; p < contextLen; p++) {
            const slot = batch.blockTables[table + Math.floor(p / blockSize)] * blockSize + (p % blockSize);
            acc += scores[p] * values[slot * kvDim + kvOffset + i];
          }
          out[qBase + i] = acc / denom;
        }
      }
    }
  }

  siluMul(out: Float32Array, gateUp: Float32Array, n: number, hidden: number): void {
    for (let t = 0; t < n; t++) {
      for (let i = 0; i < hidden; i++) {
        const g = gateUp[t * 2 * hidden + i];
        out[t * hidden + i] = (g / (1 + Math.exp(-g))) * gateUp[t * 2 * hidden + hidden + i];
      }
    }
  }

  addInPlace(x: Float32Array, y: Float32Array, length: number): void {
    for (let i = 0; i < length; i++) x[i] += y[i];
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

  dispose(): void {}
}
