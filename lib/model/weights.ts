import { Rng, deriveSeed } from '../util/rng.js';
import { GGML_TYPE, rowBytes, type GgmlType } from './formats/ggml-types.js';
import type { WeightTensor } from './kernels/kernels.js';
import { kvDim, qDim, type ModelConfig } from './model-config.js';

/** Where one tensor lies in a block of weights: llama.cpp's names, ggml type, sizes (fastest first). */
export interface TensorLayout {
  readonly name: string;
  readonly type: GgmlType;
  readonly dims: readonly number[];
  /** Bytes from the start of the block. */
  readonly offset: number;
}

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
 * All weights of a model as views into one block of shared memory, so that engine workers can
 * map the same bytes instead of each holding a copy. Matrices keep their file's type.
 */
export interface ModelWeights {
  readonly config: ModelConfig;
  readonly tokEmbedding: WeightTensor; // [vocabSize, dim]
  readonly layers: readonly LayerWeights[];
  readonly finalNorm: Float32Array; // [dim]
  /** The token embedding itself when the model ties them. */
  readonly lmHead: WeightTensor; // [vocabSize, dim]
  /** Llama 3's per-pair RoPE divisors, when the model has them. */
  readonly ropeFreqs: Float32Array | null; // [headDim / 2]
}

/** Views of every tensor of `layout` over `buffer` from `base` on. Throws naming a missing or misshapen tensor. */
export function mapWeights(config: ModelConfig, layout: readonly TensorLayout[], buffer: ArrayBufferLike, base: number): ModelWeights {
  const byName = new Map(layout.map((t) => [t.name, t]));
  const find = (name: string) => {
    const t = byName.get(name);
    if (!t) throw new RangeError(`the model has no tensor ${name}`);
    return t;
  };
  const matrix = (name: string, rows: number, cols: number): WeightTensor => {
    const t = find(name);
    if (t.dims.length !== 2 || t.dims[0] !== cols || t.dims[1] !== rows) throw new RangeError(`tensor ${name} is [${t.dims.join(', ')}], expected [${cols}, ${rows}]`);
    return { type: t.type, rows, cols, bytes: new Uint8Array(buffer, base + t.offset, rows * (rowBytes(t.type, cols) as number)) };
  };
  const vector = (name: string, n: number): Float32Array => {
    const t = find(name);
    if (t.dims.length !== 1 || t.dims[0] !== n) throw new RangeError(`tensor ${name} is [${t.dims.join(', ')}], expected [${n}]`);
    if (t.type !== GGML_TYPE.F32) throw new RangeError(`tensor ${name} must be F32`);
    return new Float32Array(buffer, base + t.offset, n);
  };
  const optional = (name: string, n: number) => (byName.has(name) ? vector(name, n) : null);
  const c = config;
  const q = qDim(c);
  const kv = kvDim(c);
  const layers = Array.from({ length: c.numLayers }, (_, l): LayerWeights => {
    const b = `blk.${l}`;
    return {
      attnNorm: vector(`${b}.attn_norm.weight`, c.dim),
      wq: matrix(`${b}.attn_q.weight`, q, c.dim),
      wk: matrix(`${b}.attn_k.weight`, kv, c.dim),
      wv: matrix(`${b}.attn_v.weight`, kv, c.dim),
      bq: c.qkvBias ? vector(`${b}.attn_q.bias`, q) : null,
      bk: c.qkvBias ? vector(`${b}.attn_k.bias`, kv) : null,
      bv: c.qkvBias ? vector(`${b}.attn_v.bias`, kv) : null,
      qNorm: c.qkNorm ? vector(`${b}.attn_q_norm.weight`, c.headDim) : null,
      kNorm: c.qkNorm ? vector(`${b}.attn_k_norm.weight`, c.headDim) : null,
      wo: matrix(`${b}.attn_output.weight`, c.dim, q),
      ffnNorm: vector(`${b}.ffn_norm.weight`, c.dim),
      wGate: matrix(`${b}.ffn_gate.weight`, c.hiddenDim, c.dim),
      wUp: matrix(`${b}.ffn_up.weight`, c.hiddenDim, c.dim),
      wDown: matrix(`${b}.ffn_down.weight`, c.dim, c.hiddenDim),
    };
  });
  const tokEmbedding = matrix('token_embd.weight', c.vocabSize, c.dim);
  return {
    config,
    tokEmbedding,
    layers,
    finalNorm: vector('output_norm.weight', c.dim),
    lmHead: c.tiedEmbeddings ? tokEmbedding : matrix('output.weight', c.vocabSize, c.dim),
    ropeFreqs: optional('rope_freqs.weight', c.headDim / 2),
  };
}

/** A tensor a model is built from: its name, its sizes (fastest first, as GGUF has them), and whether it may be absent. */
export interface TensorSpec {
  readonly name: string;
  readonly dims: readonly number[];
  readonly optional: boolean;
}

/** Every tensor of a Llama-family model with `config`, in llama.cpp's order; a matrix [rows, cols] is [cols, rows]. */
export function llamaTensorSpecs(c: ModelConfig, withRopeFreqs = false): TensorSpec[] {
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

/** The layout of a built-in model: every tensor F32, packed in llama.cpp's order, 32-byte aligned. */
export function builtInLayout(c: ModelConfig): TensorLayout[] {
  let offset = 0;
  return llamaTensorSpecs(c).map(({ name, dims }) => {
    const t = { name, type: GGML_TYPE.F32, dims, offset };
    offset += Math.ceil((4 * dims.reduce((a, b) => a * b, 1)) / 32) * 32;
    return t;
  });
}

/** Bytes a layout spans. */
export function layoutBytes(layout: readonly TensorLayout[]): number {
  let end = 0; // a loop, not Math.max(...): a spread of tens of thousands of tensors overflows the stack
  for (const t of layout) end = Math.max(end, t.offset + (rowBytes(t.type, t.dims[0]) as number) * t.dims.slice(1).reduce((a, b) => a * b, 1));
  return end;
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
export function initDummyWeights(weights: ModelWeights, seed: number, eosTokenId: number): void {
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
