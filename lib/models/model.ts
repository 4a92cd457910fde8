import type { AttentionBatch } from '../backends/kernels.js';

/** What every architecture's configuration holds; each adds its own hyperparameters. Plain data. */
export interface ModelConfig {
  /** The general.architecture it was read as (llama, qwen2, qwen3, …). */
  readonly architecture: string;
  /** Rows of the embedding and of the LM head. */
  readonly vocabSize: number;
  /** Longest context the model was trained for. */
  readonly maxSeqLen: number;
}

/** The engine a model is built for: its largest step, its sampling rows, its KV cache. */
export interface EngineShape {
  /** Tokens of the largest step (maxNumBatchedTokens). */
  readonly maxTokens: number;
  /** Rows that get logits in one step (maxNumSeqs). */
  readonly maxLogits: number;
  /** Token slots of the KV cache (blocks × block size). */
  readonly kvCacheSlots: number;
  readonly blockSize: number;
  readonly maxBlocksPerSeq: number;
  /** Longest context attention covers (maxModelLen). */
  readonly maxContextLen: number;
}

/** The tokens of one step, flattened across sequences, plus which rows need logits. */
export interface ForwardBatch extends AttentionBatch {
  readonly tokenIds: Int32Array; // [numTokens]
  readonly logitRows: Int32Array; // [numLogits]: token rows whose next-token logits are wanted
  readonly numLogits: number;
}

/** A model built for one engine replica: every buffer allocated once, for the engine's shape. */
export interface Model {
  readonly config: ModelConfig;
  readonly shape: EngineShape;
  /**
   * Runs the batch through the model, writing every token's keys and values into the cache.
   * Returns logits [numLogits, vocabSize] for the rows in `batch.logitRows`; the view is
   * overwritten by the next call.
   */
  forward(batch: ForwardBatch): Promise<Float32Array>;
  /** The most rows rowLogits() takes at once. */
  readonly maxRowLogits: number;
  /**
   * Logits [count, vocabSize] for any `count` (≤ maxRowLogits) token rows of the last forward
   * batch, e.g. prompt positions whose log probabilities were asked for. Valid until the next
   * call; the logits forward() returned are left as they were.
   */
  rowLogits(rows: Int32Array, count: number): Promise<Float32Array>;
}
