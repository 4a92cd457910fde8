import { Rng, deriveSeed } from '../../util/rng.js';
import { GGML_TYPE } from '../../tensors/tensor-types.js';
import type { TensorSpec, WeightTensor } from '../../tensors/weights.js';
import type { WeightsView } from '../architecture.js';
import { kvDim, qDim, type LlamaConfig } from './llama-config.js';

export interface LayerWeights {
  readonly attnNorm: Float32Array; // [dim]
  readonly wq: WeightTensor; // [qDim, dim]
  readonly wk: WeightTensor; // [kvDim, dim]
  readonly wv: WeightTensor; // [kvDim, dim]
  readonly bq: Float32Array | null; // [qDim] (Qwen 2)
  readonly bk: Float32Array | null; // [kvDim]
  readonly bv: Float32Array | null; // [kvDim]
  readonly qNorm: Float32Array | null; // [headDim] (Qwen 3)
  readonly kNorm: Float32Array | null; // [headDim]
  readonly wo: WeightTensor; // [dim, qDim]
  readonly ffnNorm: Float32Array; // [dim]
  readonly wGate: WeightTensor; // [hiddenDim, dim]
  readonly wUp: WeightTensor; // [hiddenDim, dim]
  readonly wDown: WeightTensor; // [dim, hiddenDim]
}

/**
 * All weights of a Llama-family model as views into one block of shared memory, so that engine
 * workers can map the same bytes instead of each holding a copy. Matrices keep their file's type.
 */
export interface LlamaWeights {
  readonly config: LlamaConfig;
  readonly tokEmbedding: WeightTensor; // [vocabSize, dim]
  readonly layers: readonly LayerWeights[];
  readonly finalNorm: Float32Array; // [dim]
  /** The token embedding itself when the model ties them. */
  readonly lmHead: WeightTensor; // [vocabSize, dim]
  /** Llama 3's per-pair RoPE divisors, when the model has them. */
  readonly ropeFreqs: Float32Array | null; // [headDim / 2]
}

/** Every tensor of a Llama-family model with `config`, in llama.cpp's order; a matrix [rows, cols] is [cols, rows]. */
export function llamaTensorSpecs(c: LlamaConfig, withRopeFreqs = false): TensorSpec[] {
  const q = qDim(c);
  const kv = kvDim(c);
  const spec = (name: string, dims: number[], optional = false): TensorSpec => ({ name, dims, optional });
  const specs = [spec('token_embd.weight', [c.dim, c.vocabSize])];
  if (withRopeFreqs) specs.push(spec('rope_freqs.weight', [c.headDim / 2]));
  for (let l = 0; l < c.numLayers; l++) {
    const b = `blk.${l}`;
    specs.push(spec(`${b}.attn_norm.weight`, [c.dim]), spec(`${b}.attn_q.weight`, [c.dim, q]), spec(`${b}.attn_k.weight`, [c.dim, kv]), spec(`${b}.attn_v.weight`, [c.dim, kv]));
    if (c.qkvBias) specs.push(spec(`${b}.attn_q.bias`, [q]), spec(`${b}.attn_k.bias`, [kv]), spec(`${b}.attn_v.bias`, [kv]));
    if (c.qkNorm) specs.push(spec(`${b}.attn_q_norm.weight`, [c.headDim]), spec(`${b}.attn_k_norm.weight`, [c.headDim]));
    specs.push(
      spec(`${b}.attn_output.weight`, [q, c.dim]),
      spec(`${b}.ffn_norm.weight`, [c.dim]),
      spec(`${b}.ffn_gate.weight`, [c.dim, c.hiddenDim]),
      spec(`${b}.ffn_up.weight`, [c.dim, c.hiddenDim]),
      spec(`${b}.ffn_down.weight`, [c.hiddenDim, c.dim]),
    );
  }
  specs.push(spec('output_norm.weight', [c.dim]));
  if (!c.tiedEmbeddings) specs.push(spec('output.weight', [c.dim, c.vocabSize]));
  return specs;
}

/** The model's weights, by name, out of `view` (its tensors were checked against llamaTensorSpecs when it was opened). */
export function llamaWeights(config: LlamaConfig, view: WeightsView): LlamaWeights {
  const c = config;
  const optional = (name: string) => (view.has(name) ? view.vector(name) : null);
  const layers = Array.from({ length: c.numLayers }, (_, l): LayerWeights => {
    const b = `blk.${l}`;
    return {
      attnNorm: view.vector(`${b}.attn_norm.weight`),
      wq: view.matrix(`${b}.attn_q.weight`),
      wk: view.matrix(`${b}.attn_k.weight`),
      wv: view.matrix(`${b}.attn_v.weight`),
      bq: c.qkvBias ? view.vector(`${b}.attn_q.bias`) : null,
      bk: c.qkvBias ? view.vector(`${b}.attn_k.bias`) : null,
      bv: c.qkvBias ? view.vector(`${b}.attn_v.bias`) : null,
      qNorm: c.qkNorm ? view.vector(`${b}.attn_q_norm.weight`) : null,
      kNorm: c.qkNorm ? view.vector(`${b}.attn_k_norm.weight`) : null,
      wo: view.matrix(`${b}.attn_output.weight`),
      ffnNorm: view.vector(`${b}.ffn_norm.weight`),
      wGate: view.matrix(`${b}.ffn_gate.weight`),
      wUp: view.matrix(`${b}.ffn_up.weight`),
      wDown: view.matrix(`${b}.ffn_down.weight`),
    };
  });
  const tokEmbedding = view.matrix('token_embd.weight');
  return {
    config,
    tokEmbedding,
    layers,
    finalNorm: view.vector('output_norm.weight'),
    lmHead: c.tiedEmbeddings ? tokEmbedding : view.matrix('output.weight'),
    ropeFreqs: optional('rope_freqs.weight'),
  };
}

/** Byte tokens that make readable text: printable ASCII, tab and newline. */
function isReadableByte(id: number): boolean {
  return (id >= 0x20 && id < 0x7f) || id === 0x0a || id === 0x09;
}

/**
 * Fills a built-in model's F32 weights deterministically from `seed`, each tensor from its own
 * stream so that a tensor's values do not depend on the others' sizes. Matrices are uniform in
 * ±1/√inDim (the scale that keeps activations of order one); norms are 1. The LM head is steeper
 * and favours readable bytes and end-of-sequence, so that dummy output looks like text and
 * sometimes stops on its own.
 */
export function initDummyWeights(weights: LlamaWeights, seed: number, eosTokenId: number): void {
  const c = weights.config;
  let stream = 0;
  const uniform = (t: WeightTensor | Float32Array, scale: number) => new Rng(deriveSeed(seed, stream++)).fillUniform(f32(t), scale);
  uniform(weights.tokEmbedding, 1);
  for (const layer of weights.layers) {
    layer.attnNorm.fill(1);
    for (const w of [layer.wq, layer.wk, layer.wv, layer.wGate, layer.wUp]) uniform(w, 1 / Math.sqrt(c.dim));
    uniform(layer.wo, 1 / Math.sqrt(qDim(c)));
    uniform(layer.wDown, 1 / Math.sqrt(c.hiddenDim));
    layer.ffnNorm.fill(1);
  }
  weights.finalNorm.fill(1);
  const head = f32(weights.lmHead);
  uniform(head, 4 / Math.sqrt(c.dim));
  for (let token = 0; token < c.vocabSize; token++) {
    if (isReadableByte(token) || token === eosTokenId) continue;
    const row = head.subarray(token * c.dim, (token + 1) * c.dim);
    for (let i = 0; i < row.length; i++) row[i] *= 0.2;
  }
}

/** The f32 values of an F32 tensor, in place. */
function f32(t: WeightTensor | Float32Array): Float32Array {
  if (t instanceof Float32Array) return t;
  if (t.type !== GGML_TYPE.F32) throw new RangeError('only F32 tensors can be filled');
  return new Float32Array(t.bytes.buffer, t.bytes.byteOffset, t.rows * t.cols);
}
