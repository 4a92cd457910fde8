import type { AttentionBatch, AttentionShape, Kernels, KvCache, ResidentMatrix, RopeSpec } from './kernels/kernels.js';
import { kvDim, qDim, type ModelConfig } from './model-config.js';
import type { ModelWeights } from './weights.js';

interface LayerMatrices {
  readonly attnNorm: Float32Array;
  readonly wq: ResidentMatrix;
  readonly wk: ResidentMatrix;
  readonly wv: ResidentMatrix;
  readonly bq: Float32Array | null;
  readonly bk: Float32Array | null;
  readonly bv: Float32Array | null;
  readonly qNorm: Float32Array | null;
  readonly kNorm: Float32Array | null;
  readonly wo: ResidentMatrix;
  readonly ffnNorm: Float32Array;
  readonly wGate: ResidentMatrix;
  readonly wUp: ResidentMatrix;
  readonly wDown: ResidentMatrix;
}

/** The tokens of one step, flattened across sequences, plus which rows need logits. */
export interface ForwardBatch extends AttentionBatch {
  readonly tokenIds: Int32Array; // [numTokens]
  readonly logitRows: Int32Array; // [numLogits]: token rows whose next-token logits are wanted
  readonly numLogits: number;
}

/**
 * A Llama-family decoder (Llama, Qwen 2 with q/k/v biases, Qwen 3 with q/k norms), computed as
 * llama.cpp computes it. Every activation buffer is allocated once, for the largest batch
 * (`maxTokens` rows), and each step uses a prefix of it.
 */
export class LlamaModel {
  readonly config: ModelConfig;
  readonly kvCache: KvCache;
  readonly attentionShape: AttentionShape;
  readonly rope: RopeSpec;
  private readonly layers: LayerMatrices[];
  private readonly tokEmbedding: ResidentMatrix;
  private readonly lmHead: ResidentMatrix;
  private readonly finalNorm: Float32Array;
  private readonly qDim: number;
  private readonly kvDim: number;

  private readonly x: Float32Array; // [maxTokens, dim] residual stream
  private readonly xb: Float32Array; // [maxTokens, dim] normalised input of a sub-layer
  private readonly q: Float32Array; // [maxTokens, qDim]
  private readonly k: Float32Array; // [maxTokens, kvDim]
  private readonly v: Float32Array; // [maxTokens, kvDim]
  private readonly attn: Float32Array; // [maxTokens, qDim]
  private readonly proj: Float32Array; // [maxTokens, dim] output of wo or wDown
  private readonly gate: Float32Array; // [maxTokens, hiddenDim]
  private readonly up: Float32Array; // [maxTokens, hiddenDim]
  private readonly act: Float32Array; // [maxTokens, hiddenDim]
  private readonly last: Float32Array; // [maxLogits, dim] rows that get logits
  private readonly lastNorm: Float32Array; // [maxLogits, dim]
  private readonly logits: Float32Array; // [maxLogits, vocabSize]
  private rowLogitsBuffer: Float32Array | null = null; // [maxLogits, vocabSize], made on first use

  constructor(
    weights: ModelWeights,
    private readonly kernels: Kernels,
    readonly maxTokens: number,
    readonly maxLogits: number,
    kvCacheSlots: number,
    blockSize: number,
    maxBlocksPerSeq: number,
  ) {
    const c = weights.config;
    this.config = c;
    this.qDim = qDim(c);
    this.kvDim = kvDim(c);
    this.attentionShape = { numHeads: c.numHeads, numKvHeads: c.numKvHeads, headDim: c.headDim, blockSize, maxBlocksPerSeq };
    this.rope = { headDim: c.headDim, theta: c.ropeTheta, style: c.ropeStyle, freqScale: c.ropeFreqScale, freqFactors: weights.ropeFreqs };
    this.layers = weights.layers.map((w) => ({
      ...w,
      wq: kernels.loadMatrix(w.wq),
      wk: kernels.loadMatrix(w.wk),
      wv: kernels.loadMatrix(w.wv),
      wo: kernels.loadMatrix(w.wo),
      wGate: kernels.loadMatrix(w.wGate),
      wUp: kernels.loadMatrix(w.wUp),
      wDown: kernels.loadMatrix(w.wDown),
    }));
    this.tokEmbedding = kernels.loadMatrix(weights.tokEmbedding);
    this.lmHead = weights.lmHead === weights.tokEmbedding ? this.tokEmbedding : kernels.loadMatrix(weights.lmHead);
    this.finalNorm = weights.finalNorm;
    this.kvCache = kernels.createKvCache(c.numLayers, kvCacheSlots, this.kvDim);

    this.x = kernels.allocateFloat32(maxTokens * c.dim);
    this.xb = kernels.allocateFloat32(maxTokens * c.dim);
    this.q = kernels.allocateFloat32(maxTokens * this.qDim);
    this.k = kernels.allocateFloat32(maxTokens * this.kvDim);
    this.v = kernels.allocateFloat32(maxTokens * this.kvDim);
    this.attn = kernels.allocateFloat32(maxTokens * this.qDim);
    this.proj = kernels.allocateFloat32(maxTokens * c.dim);
    this.gate = kernels.allocateFloat32(maxTokens * c.hiddenDim);
    this.up = kernels.allocateFloat32(maxTokens * c.hiddenDim);
    this.act = kernels.allocateFloat32(maxTokens * c.hiddenDim);
    this.last = kernels.allocateFloat32(maxLogits * c.dim);
    this.lastNorm = kernels.allocateFloat32(maxLogits * c.dim);
    this.logits = kernels.allocateFloat32(maxLogits * c.vocabSize);
  }

  /**
   * Runs the batch through the model, writing every token's keys and values into the cache.
   * Returns logits [numLogits, vocabSize] for the rows in `batch.logitRows`; the view is
   * overwritten by the next call.
   */
  async forward(batch: ForwardBatch): Promise<Float32Array> {
    const c = this.config;
    const n = batch.numTokens;
    const K = this.kernels;
    if (n < 1 || n > this.maxTokens) throw new RangeError(`batch of ${n} tokens; the model takes 1 to ${this.maxTokens}`);
    if (batch.numLogits > this.maxLogits) throw new RangeError(`${batch.numLogits} logit rows; the model takes at most ${this.maxLogits}`);

    // 1. token embedding
    await K.embed(this.x, batch.tokenIds, this.tokEmbedding, n);

    for (let l = 0; l < this.layers.length; l++) {
      const layer = this.layers[l];
      // 2. attention: RMSNorm → q, k, v projections (+ biases, + per-head norms) → RoPE → cache k, v → attend → wo → residual
      await K.rmsNorm(this.xb, this.x, layer.attnNorm, n, c.dim, c.normEps);
      await K.matmul(this.q, this.xb, layer.wq, n);
      await K.matmul(this.k, this.xb, layer.wk, n);
      await K.matmul(this.v, this.xb, layer.wv, n);
      if (layer.bq && layer.bk && layer.bv) {
        await K.addBias(this.q, layer.bq, n, this.qDim);
        await K.addBias(this.k, layer.bk, n, this.kvDim);
        await K.addBias(this.v, layer.bv, n, this.kvDim);
      }
      if (layer.qNorm && layer.kNorm) {
        await K.rmsNorm(this.q, this.q, layer.qNorm, n * c.numHeads, c.headDim, c.normEps);
        await K.rmsNorm(this.k, this.k, layer.kNorm, n * c.numKvHeads, c.headDim, c.normEps);
      }
      await K.rope(this.q, batch.positions, n, c.numHeads, this.rope);
      await K.rope(this.k, batch.positions, n, c.numKvHeads, this.rope);
      await K.storeKv(this.kvCache, l, this.k, this.v, batch.slotMapping, n);
      await K.attention(this.attn, this.q, this.kvCache, l, batch, this.attentionShape);
      await K.matmul(this.proj, this.attn, layer.wo, n);
      await K.addInPlace(this.x, this.proj, n * c.dim);

      // 3. feed-forward: RMSNorm → gate and up projections → silu(gate)·up → down → residual
      await K.rmsNorm(this.xb, this.x, layer.ffnNorm, n, c.dim, c.normEps);
      await K.matmul(this.gate, this.xb, layer.wGate, n);
      await K.matmul(this.up, this.xb, layer.wUp, n);
      await K.siluMul(this.act, this.gate, this.up, n, c.hiddenDim);
      await K.matmul(this.proj, this.act, layer.wDown, n);
      await K.addInPlace(this.x, this.proj, n * c.dim);
    }

    // 4. final RMSNorm and LM head, only for the rows that sample (none while a prompt is mid-prefill)
    const m = batch.numLogits;
    if (m === 0) return this.logits.subarray(0, 0);
    for (let i = 0; i < m; i++) {
      const row = batch.logitRows[i];
      this.last.set(this.x.subarray(row * c.dim, (row + 1) * c.dim), i * c.dim);
    }
    await K.rmsNorm(this.lastNorm, this.last, this.finalNorm, m, c.dim, c.normEps);
    await K.matmul(this.logits, this.lastNorm, this.lmHead, m);
    return this.logits.subarray(0, m * c.vocabSize);
  }

  /** The most rows rowLogits() takes at once. */
  get maxRowLogits(): number {
    return this.maxLogits;
  }

  /**
   * Logits [count, vocabSize] for any `count` (≤ maxRowLogits) token rows of the last forward
   * batch, e.g. prompt positions whose log probabilities were asked for. Valid until the next
   * call; the logits forward() returned are left as they were.
   */
  async rowLogits(rows: Int32Array, count: number): Promise<Float32Array> {
    const c = this.config;
    if (count > this.maxLogits) throw new RangeError(`${count} rows; rowLogits takes at most ${this.maxLogits}`);
    this.rowLogitsBuffer ??= this.kernels.allocateFloat32(this.maxLogits * c.vocabSize);
    for (let i = 0; i < count; i++) this.last.set(this.x.subarray(rows[i] * c.dim, (rows[i] + 1) * c.dim), i * c.dim);
    await this.kernels.rmsNorm(this.lastNorm, this.last, this.finalNorm, count, c.dim, c.normEps);
    await this.kernels.matmul(this.rowLogitsBuffer, this.lastNorm, this.lmHead, count);
    return this.rowLogitsBuffer.subarray(0, count * c.vocabSize);
  }
}
