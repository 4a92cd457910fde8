import type { AttentionBatch, AttentionShape, Kernels, KvCache, ResidentMatrix } from './kernels/kernels.js';
import { headDim, kvDim, type ModelConfig } from './model-config.js';
import type { ModelWeights } from './weights.js';

interface LayerMatrices {
  readonly attnNorm: Float32Array;
  readonly wqkv: ResidentMatrix;
  readonly wo: ResidentMatrix;
  readonly ffnNorm: Float32Array;
  readonly wGateUp: ResidentMatrix;
  readonly wDown: ResidentMatrix;
}

/** The tokens of one step, flattened across sequences, plus which rows need logits. */
export interface ForwardBatch extends AttentionBatch {
  readonly tokenIds: Int32Array; // [numTokens]
  readonly logitRows: Int32Array; // [numLogits]: token rows whose next-token logits are wanted
  readonly numLogits: number;
}

/**
 * A Llama-architecture decoder. Every activation buffer is allocated once, for the largest batch
 * (`maxTokens` rows), and each step uses a prefix of it.
 */
export class LlamaModel {
  readonly config: ModelConfig;
  readonly kvCache: KvCache;
  readonly attentionShape: AttentionShape;
  private readonly layers: LayerMatrices[];
  private readonly lmHead: ResidentMatrix;
  private readonly qDim: number;
  private readonly kvDim: number;

  private readonly x: Float32Array; // [maxTokens, dim] residual stream
  private readonly xb: Float32Array; // [maxTokens, dim] normalised input of a sub-layer
  private readonly qkv: Float32Array; // [maxTokens, qDim + 2·kvDim]
  private readonly q: Float32Array; // [maxTokens, qDim]
  private readonly k: Float32Array; // [maxTokens, kvDim]
  private readonly v: Float32Array; // [maxTokens, kvDim]
  private readonly attn: Float32Array; // [maxTokens, qDim]
  private readonly proj: Float32Array; // [maxTokens, dim] output of wo or wDown
  private readonly gateUp: Float32Array; // [maxTokens, 2·hiddenDim]
  private readonly act: Float32Array; // [maxTokens, hiddenDim]
  private readonly last: Float32Array; // [maxLogits, dim] rows that get logits
  private readonly lastNorm: Float32Array; // [maxLogits, dim]
  private readonly logits: Float32Array; // [maxLogits, vocabSize]

  constructor(
    private readonly weights: ModelWeights,
    private readonly kernels: Kernels,
    readonly maxTokens: number,
    readonly maxLogits: number,
    kvCacheSlots: number,
    blockSize: number,
    maxBlocksPerSeq: number,
  ) {
    const c = weights.config;
    this.config = c;
    this.qDim = c.numHeads * headDim(c);
    this.kvDim = kvDim(c);
    this.attentionShape = { numHeads: c.numHeads, numKvHeads: c.numKvHeads, headDim: headDim(c), blockSize, maxBlocksPerSeq };
    this.layers = weights.layers.map((w) => ({
      attnNorm: w.attnNorm,
      wqkv: kernels.loadMatrix(w.wqkv, this.qDim + 2 * this.kvDim, c.dim),
      wo: kernels.loadMatrix(w.wo, c.dim, this.qDim),
      ffnNorm: w.ffnNorm,
      wGateUp: kernels.loadMatrix(w.wGateUp, 2 * c.hiddenDim, c.dim),
      wDown: kernels.loadMatrix(w.wDown, c.dim, c.hiddenDim),
    }));
    this.lmHead = kernels.loadMatrix(weights.lmHead, c.vocabSize, c.dim);
    this.kvCache = kernels.createKvCache(c.numLayers, kvCacheSlots, this.kvDim);

    this.x = kernels.allocateFloat32(maxTokens * c.dim);
    this.xb = kernels.allocateFloat32(maxTokens * c.dim);
    this.qkv = kernels.allocateFloat32(maxTokens * (this.qDim + 2 * this.kvDim));
    this.q = kernels.allocateFloat32(maxTokens * this.qDim);
    this.k = kernels.allocateFloat32(maxTokens * this.kvDim);
    this.v = kernels.allocateFloat32(maxTokens * this.kvDim);
    this.attn = kernels.allocateFloat32(maxTokens * this.qDim);
    this.proj = kernels.allocateFloat32(maxTokens * c.dim);
    this.gateUp = kernels.allocateFloat32(maxTokens * 2 * c.hiddenDim);
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
    for (let t = 0; t < n; t++) {
      const id = batch.tokenIds[t];
      this.x.set(this.weights.tokEmbedding.subarray(id * c.dim, (id + 1) * c.dim), t * c.dim);
    }

    for (let l = 0; l < c.numLayers; l++) {
      const layer = this.layers[l];
      // 2. attention: RMSNorm → q, k, v projections → RoPE on q and k → cache k, v → attend → wo → residual
      await K.rmsNorm(this.xb, this.x, layer.attnNorm, n, c.dim, c.normEps);
      await K.matmul(this.qkv, this.xb, layer.wqkv, n);
      this.splitQkv(n);
      await K.rope(this.q, batch.positions, n, c.numHeads, this.attentionShape.headDim, c.ropeTheta);
      await K.rope(this.k, batch.positions, n, c.numKvHeads, this.attentionShape.headDim, c.ropeTheta);
      await K.storeKv(this.kvCache, l, this.k, this.v, batch.slotMapping, n);
      await K.attention(this.attn, this.q, this.kvCache, l, batch, this.attentionShape);
      await K.matmul(this.proj, this.attn, layer.wo, n);
      await K.addInPlace(this.x, this.proj, n * c.dim);

      // 3. feed-forward: RMSNorm → gate and up projections → silu(gate)·up → down → residual
      await K.rmsNorm(this.xb, this.x, layer.ffnNorm, n, c.dim, c.normEps);
      await K.matmul(this.gateUp, this.xb, layer.wGateUp, n);
      await K.siluMul(this.act, this.gateUp, n, c.hiddenDim);
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
    await K.rmsNorm(this.lastNorm, this.last, this.weights.finalNorm, m, c.dim, c.normEps);
    await K.matmul(this.logits, this.lastNorm, this.lmHead, m);
    return this.logits.subarray(0, m * c.vocabSize);
  }

  /** Copies the stacked q | k | v rows of the fused projection into their own buffers. */
  private splitQkv(n: number): void {
    const width = this.qDim + 2 * this.kvDim;
    for (let t = 0; t < n; t++) {
      const row = t * width;
      this.q.set(this.qkv.subarray(row, row + this.qDim), t * this.qDim);
      this.k.set(this.qkv.subarray(row + this.qDim, row + this.qDim + this.kvDim), t * this.kvDim);
      this.v.set(this.qkv.subarray(row + this.qDim + this.kvDim, row + width), t * this.kvDim);
    }
  }
}
