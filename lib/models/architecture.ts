import type { KernelOp } from '../backends/backend.js';
import type { Kernels } from '../backends/kernels.js';
import type { GgufFile } from '../formats/gguf.js';
import type { TensorSpec, WeightTensor } from '../tensors/weights.js';
import type { EngineShape, Model, ModelConfig } from './model.js';

/** A model's weights as views over memory another thread may have filled: by tensor name. */
export interface WeightsView {
  matrix(name: string): WeightTensor;
  vector(name: string): Float32Array;
  has(name: string): boolean;
}

/**
 * One architecture (llama.cpp's src/models/<arch>): how to read its settings from a GGUF file,
 * the tensors it is built from, the kernel ops it calls, what one engine replica allocates for it,
 * and how to build it. A new architecture is a folder of lib/models/ that implements this, plus
 * any new ops in the kernel contract; nothing else is edited.
 */
export interface Architecture<C extends ModelConfig = ModelConfig> {
  /** The general.architecture values it serves. */
  readonly names: readonly string[];
  /** Its hyperparameters from a GGUF file, checked; a ModelLoadError naming what is not supported. */
  readConfig(file: GgufFile): C;
  /** Every tensor it reads, with its shape; `present` holds the names the file has (for optional ones). */
  tensorSpecs(config: C, present: ReadonlySet<string>): TensorSpec[];
  /** The kernel ops it calls: a backend without one of them is refused when the engine is resolved. */
  readonly requiredOps: readonly KernelOp[];
  /** Its largest matmul, [rows, cols] of weights: what a backend choice is timed on. */
  largestMatmul(config: C): { readonly rows: number; readonly cols: number };
  /** Bytes one engine replica allocates for it: KV cache, activations, logits, scratch. */
  bufferBytes(config: C, shape: EngineShape): number;
  /** The model, over `weights` made resident by `kernels`. */
  build(config: C, weights: WeightsView, kernels: Kernels, shape: EngineShape): Model;
}
