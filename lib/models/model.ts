import type { AttentionBatch } from '../backends/kernels.js';
import type { EngineShape, ModelConfig } from './architecture.js';

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
