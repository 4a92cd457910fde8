import { randomUUID } from 'node:crypto';
import { weightsBuffer, type KernelBackend, type WeightsMemory } from '../backends/backend.js';
import { readTensorData, type GgufFile } from '../formats/gguf.js';
import { rowBytes } from '../tensors/tensor-types.js';
import { GGML_TYPE } from '../tensors/tensor-types.js';
import { layoutBytes, type TensorLayout, type WeightTensor } from '../tensors/weights.js';
import { SPECIAL_TOKENS } from '../tokenizer/byte-tokenizer.js';
import type { WeightsView } from './architecture.js';
import type { LlamaConfig } from './llama/llama-config.js';
import { initDummyWeights, llamaWeights } from './llama/llama-weights.js';

/**
 * How an engine reaches weights that were loaded once, by another thread or by itself: the
 * memory its backend reads them from, and where each tensor lies in it. Structured-cloneable, so
 * it travels to workers without copying the weights.
 */
export type WeightsShare = WeightsMemory & {
  readonly tensors: readonly TensorLayout[];
  /** This load's own name: every matrix viewed from it carries `${id}/${tensor}` as its key. */
  readonly id: string;
};

/** Builds a built-in model's seeded weights once, where `backend` reads them. */
export function buildDummyWeights(config: LlamaConfig, tensors: readonly TensorLayout[], backend: KernelBackend, seed: number): WeightsShare {
  const share: WeightsShare = { ...backend.allocateWeights(layoutBytes(tensors)), tensors, id: randomUUID() };
  initDummyWeights(llamaWeights(config, weightsView(share)), seed, SPECIAL_TOKENS.eos);
  return share;
}

/**
 * Reads a GGUF file's tensor data once, straight from the file into the memory `backend` reads
 * weights from (no copy on the JavaScript heap), keeping each tensor in its own type.
 */
export function loadGgufWeights(file: GgufFile, tensors: readonly TensorLayout[], backend: KernelBackend): WeightsShare {
  // a backend that reads the file where it lies maps it instead: nothing is read now, and every
  // worker of the process shares the same pages
  if (backend.weights === 'mapped-file' && backend.mapFile) return { kind: 'mapped-file', path: file.path, byteOffset: file.dataOffset, tensors, id: randomUUID() };
  const share: WeightsShare = { ...backend.allocateWeights(layoutBytes(tensors)), tensors, id: randomUUID() };
  readTensorData(file, new Uint8Array(weightsBuffer(share), share.byteOffset, layoutBytes(tensors)));
  return share;
}

/** Views of shared weights by tensor name, in this thread (through `backend` for a mapped file). */
export function weightsView(share: WeightsShare, backend?: Pick<KernelBackend, 'mapFile'>): WeightsView {
  const buffer = weightsBuffer(share, backend);
  const byName = new Map(share.tensors.map((t) => [t.name, t]));
  const find = (name: string) => {
    const t = byName.get(name);
    if (!t) throw new RangeError(`the model has no tensor ${name}`);
    return t;
  };
  return {
    has: (name) => byName.has(name),
    matrix(name): WeightTensor {
      const t = find(name);
      const [cols, rows] = t.dims;
      return { type: t.type, rows, cols, bytes: new Uint8Array(buffer, share.byteOffset + t.offset, rows * (rowBytes(t.type, cols) as number)), key: `${share.id}/${t.name}` };
    },
    vector(name): Float32Array {
      const t = find(name);
      if (t.type !== GGML_TYPE.F32) throw new RangeError(`tensor ${name} must be F32`);
      return new Float32Array(buffer, share.byteOffset + t.offset, t.dims[0]);
    },
  };
}
