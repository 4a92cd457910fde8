import { isMatrixType, MATRIX_TYPES } from '../quant/dequantize.js';
import { ARCHITECTURES, validateModelConfig, type Architecture, type ModelConfig } from '../model-config.js';
import { ModelLoadError } from '../model-load-error.js';
import { llamaTensorSpecs, type TensorLayout } from '../weights.js';
import { GGML_TYPE, ggmlTypeName } from './ggml-types.js';
import type { GgufFile, GgufValue } from './gguf.js';

/**
 * The model a GGUF file holds, checked against what this server can run: a supported
 * architecture, hyperparameters it computes (full-width RoPE, no scaling but linear), every
 * tensor known, of a supported type and of the shape the hyperparameters imply. Anything else is
 * refused with a message naming it, before a byte of weights is read.
 */
export function modelFromGguf(file: GgufFile): { config: ModelConfig; tensors: TensorLayout[] } {
  const fail = (problem: string) => new ModelLoadError(`${file.path}: ${problem}`);
  const m = file.metadata;
  const arch = m.get('general.architecture');
  if (typeof arch !== 'string') throw fail('has no general.architecture');
  if (!(ARCHITECTURES as readonly string[]).includes(arch)) throw fail(`architecture "${arch}" is not supported; supported: ${ARCHITECTURES.join(', ')}`);
  const a = arch as Architecture;
  const num = (key: string, fallback?: number): number => {
    const v: GgufValue | undefined = m.get(`${a}.${key}`);
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw fail(v === undefined ? `lacks ${a}.${key}` : `has a ${a}.${key} that is not a number (${Array.isArray(v) ? 'per-layer values are not supported' : String(v)})`);
    return v;
  };
  const tensors = new Map(file.tensors.map((t) => [t.name, t]));
  const embedding = tensors.get('token_embd.weight');
  if (!embedding || embedding.dims.length !== 2) throw fail('has no token_embd.weight matrix');

  const dim = num('embedding_length');
  const numHeads = num('attention.head_count');
  const headDim = num('attention.key_length', dim / numHeads);
  if (num('attention.value_length', headDim) !== headDim) throw fail('has keys and values of different widths, which is not supported');
  const ropeDims = num('rope.dimension_count', headDim);
  if (ropeDims !== headDim) throw fail(`rotates ${ropeDims} of each head's ${headDim} dimensions; only full-width RoPE is supported`);
  const scaling = m.get(`${a}.rope.scaling.type`) ?? 'none';
  if (scaling !== 'none' && scaling !== 'linear') throw fail(`uses RoPE scaling "${String(scaling)}"; supported: none, linear (and Llama 3's rope_freqs)`);
  const linearFactor = scaling === 'linear' ? num('rope.scaling.factor', num('rope.scale_linear', 1)) : num('rope.scale_linear', 1);
  const config: ModelConfig = {
    architecture: a,
    dim,
    numLayers: num('block_count'),
    numHeads,
    numKvHeads: num('attention.head_count_kv', numHeads),
    headDim,
    hiddenDim: num('feed_forward_length'),
    vocabSize: embedding.dims[1],
    maxSeqLen: num('context_length'),
    ropeTheta: num('rope.freq_base', 10000),
    ropeStyle: a === 'llama' ? 'normal' : 'neox',
    ropeFreqScale: 1 / linearFactor,
    normEps: num('attention.layer_norm_rms_epsilon'),
    qkvBias: a === 'qwen2',
    qkNorm: a === 'qwen3',
    tiedEmbeddings: !tensors.has('output.weight'),
  };
  try {
    validateModelConfig(config);
  } catch (err) {
    throw fail((err as Error).message);
  }

  // every tensor checked against what the architecture reads, before a byte of weights is
  // read: an unknown one would be ignored (and the model compute something else), a misshapen
  // one misread
  const specs = new Map(llamaTensorSpecs(config, tensors.has('rope_freqs.weight')).map((s) => [s.name, s]));
  for (const t of file.tensors) {
    const spec = specs.get(t.name);
    if (!spec) throw fail(`has a tensor this server does not use, ${t.name}: its ${a} implementation would ignore it and compute something else`);
    const isVector = spec.dims.length === 1;
    if (isVector ? t.type !== GGML_TYPE.F32 : !isMatrixType(t.type)) {
      const supported = isVector ? 'F32' : MATRIX_TYPES.map(ggmlTypeName).join(', ');
      throw fail(`tensor ${t.name} is ${ggmlTypeName(t.type)}; supported for ${isVector ? 'norms and biases' : 'matrices'}: ${supported}`);
    }
    if (t.dims.length !== spec.dims.length || t.dims.some((d, i) => d !== spec.dims[i])) throw fail(`tensor ${t.name} is [${t.dims.join(', ')}], expected [${spec.dims.join(', ')}] for this model's hyperparameters`);
  }
  for (const spec of specs.values()) if (!spec.optional && !tensors.has(spec.name)) throw fail(`lacks tensor ${spec.name}`);
  return { config, tensors: file.tensors.map((t) => ({ name: t.name, type: t.type, dims: t.dims, offset: t.offset })) };
}

