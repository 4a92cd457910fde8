import type { Kernels, KvCache, ResidentMatrix } from '../../backends/kernels.js';
import { attentionBlock, type AttentionBuffers, type AttentionSpec, type AttentionWeights } from '../blocks/attention.js';
import { swigluBlock, type SwigluBuffers, type SwigluWeights } from '../blocks/swiglu.js';
import type { EngineShape, ForwardBatch, Model } from '../model.js';
import { kvDim, qDim, type LlamaConfig } from './llama-config.js';
import type { LlamaWeights } from './llama-weights.js';

interface Layer {
  readonly attention: AttentionWeights;
  readonly ffn: SwigluWeights;
}

/**
 * A Llama-family decoder (Llama, Qwen 2 with q/k/v biases, Qwen 3 with q/k norms), computed as
 * llama.cpp computes it. Every activation buffer is allocated once, for the largest batch
 * (`shape.maxTokens` rows), and each step uses a prefix of it.
 */
export class LlamaModel implements Model {
  readonly config: LlamaConfig;
  readonly kvCache: KvCache;
  private readonly spec: AttentionSpec;
  private readonly layers: Layer[];
  private readonly tokEmbedding: ResidentMatrix;
  private readonly lmHead: ResidentMatrix;
  private readonly finalNorm: Float32Array;

  private readonly x: Float32Array; // [maxTokens, dim] residual stream
  private readonly attentionBuffers: AttentionBuffers;
  private readonly ffnBuffers: SwigluBuffers;
  private readonly last: Float32Array; // [maxLogits, dim] rows that get logits
  private readonly lastNorm: Float32Array; // [maxLogits, dim]
  private readonly logits: Float32Array; // [maxLogits, vocabSize]
  private rowLogitsBuffer: Float32Array | null = null; // [maxLogits, vocabSize], made on first use

  constructor(
    weights: LlamaWeights,
    private readonly kernels: Kernels,
    readonly shape: EngineShape,
  ) {
    const c = weights.config;
    this.config = c;
    this.spec = {
      dim: c.dim,
      normEps: c.normEps,
      shape: { numHeads: c.numHeads, numKvHeads: c.numKvHeads, headDim: c.headDim, blockSize: shape.blockSize, maxBlocksPerSeq: shape.maxBlocksPerSeq },
      rope: { headDim: c.headDim, theta: c.ropeTheta, style: c.ropeStyle, freqScale: c.ropeFreqScale, freqFactors: weights.ropeFreqs },
    };
    const load = (w: Parameters<Kernels['loadMatrix']>[0]) => kernels.loadMatrix(w);
    this.layers = weights.layers.map((w) => ({
      attention: { norm: w.attnNorm, wq: load(w.wq), wk: load(w.wk), wv: load(w.wv), bq: w.bq, bk: w.bk, bv: w.bv, qNorm: w.qNorm, kNorm: w.kNorm, wo: load(w.wo) },
      ffn: { norm: w.ffnNorm, wGate: load(w.wGate), wUp: load(w.wUp), wDown: load(w.wDown) },
    }));
    this.tokEmbedding = load(weights.tokEmbedding);
    this.lmHead = weights.lmHead === weights.tokEmbedding ? this.tokEmbedding : load(weights.lmHead);
    this.finalNorm = weights.finalNorm;
    this.kvCache = kernels.createKvCache(c.numLayers, shape.kvCacheSlots, kvDim(c));

    const f32 = (length: number) => kernels.allocateFloat32(length);
    const n = shape.maxTokens;
    this.x = f32(n * c.dim);
    const xb = f32(n * c.dim);
    const proj = f32(n * c.dim);
    this.attentionBuffers = { xb, q: f32(n * qDim(c)), k: f32(n * kvDim(c)), v: f32(n * kvDim(c)), attn: f32(n * qDim(c)), proj };
    this.ffnBuffers = { xb, gate: f32(n * c.hiddenDim), up: f32(n * c.hiddenDim), act: f32(n * c.hiddenDim), proj };
    this.last = f32(shape.maxLogits * c.dim);
    this.lastNorm = f32(shape.maxLogits * c.dim);
    this.logits = f32(shape.maxLogits * c.vocabSize);
  }

  async forward(batch: ForwardBatch): Promise<Float32Array> {
    const c = this.config;
    const n = batch.numTokens;
    const K = this.kernels;
    if (n < 1 || n > this.shape.maxTokens) throw new RangeError(`batch of ${n} tokens; the model takes 1 to ${this.shape.maxTokens}`);
    if (batch.numLogits > this.shape.maxLogits) throw new RangeError(`${batch.numLogits} logit rows; the model takes at most ${this.shape.maxLogits}`);

    // 1. token embedding
    await K.embed(this.x, batch.tokenIds, this.tokEmbedding, n);

    for (let l = 0; l < this.layers.length; l++) {
      // 2. attention over the paged KV cache, added to the residual stream
      await attentionBlock(K, this.x, this.layers[l].attention, this.attentionBuffers, this.spec, this.kvCache, l, batch);
      // 3. the SwiGLU feed-forward, added to the residual stream
      await swigluBlock(K, this.x, this.layers[l].ffn, this.ffnBuffers, n, c.dim, c.hiddenDim, c.normEps);
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

  get maxRowLogits(): number {
    return this.shape.maxLogits;
  }

  async rowLogits(rows: Int32Array, count: number): Promise<Float32Array> {
    const c = this.config;
    if (count > this.shape.maxLogits) throw new RangeError(`${count} rows; rowLogits takes at most ${this.shape.maxLogits}`);
    this.rowLogitsBuffer ??= this.kernels.allocateFloat32(this.shape.maxLogits * c.vocabSize);
    for (let i = 0; i < count; i++) this.last.set(this.x.subarray(rows[i] * c.dim, (rows[i] + 1) * c.dim), i * c.dim);
    await this.kernels.rmsNorm(this.lastNorm, this.last, this.finalNorm, count, c.dim, c.normEps);
    await this.kernels.matmul(this.rowLogitsBuffer, this.lastNorm, this.lmHead, count);
    return this.rowLogitsBuffer.subarray(0, count * c.vocabSize);
  }
}
