import { KERNEL_OPS } from '../../backends/backend.js';
import { GgufSettings } from '../../formats/gguf-settings.js';
import type { Architecture } from '../architecture.js';
import type { EngineShape } from '../model.js';
import { kvDim, LLAMA_VARIANTS, qDim, validateLlamaConfig, type LlamaConfig, type LlamaVariant } from './llama-config.js';
import { LlamaModel } from './llama-model.js';
import { llamaTensorSpecs, llamaWeights } from './llama-weights.js';

/**
 * The Llama family, llama.cpp's llama, qwen2 and qwen3 (src/models/llama.cpp, qwen2.cpp,
 * qwen3.cpp) as variants of one decoder: Qwen 2 adds q/k/v biases, Qwen 3 q/k RMSNorm, and
 * Llama files rotate adjacent pairs (their converter permutes q and k) where Qwen rotates halves.
 */
export const LLAMA_FAMILY: Architecture<LlamaConfig> = {
  names: LLAMA_VARIANTS,
  requiredOps: KERNEL_OPS,

  /** Full-width RoPE, no scaling but linear (and Llama 3's rope_freqs tensor): anything else is refused. */
  readConfig(file) {
    const variant = file.metadata.get('general.architecture') as LlamaVariant;
    const s = new GgufSettings(file, variant);
    const embedding = file.tensors.find((t) => t.name === 'token_embd.weight');
    if (!embedding || embedding.dims.length !== 2) throw s.fail('has no token_embd.weight matrix');
    const dim = s.num('embedding_length');
    const numHeads = s.num('attention.head_count');
    const headDim = s.num('attention.key_length', dim / numHeads);
    if (s.num('attention.value_length', headDim) !== headDim) throw s.fail('has keys and values of different widths, which is not supported');
    const ropeDims = s.num('rope.dimension_count', headDim);
    if (ropeDims !== headDim) throw s.fail(`rotates ${ropeDims} of each head's ${headDim} dimensions; only full-width RoPE is supported`);
    const scaling = s.str('rope.scaling.type', 'none');
    if (scaling !== 'none' && scaling !== 'linear') throw s.fail(`uses RoPE scaling "${scaling}"; supported: none, linear (and Llama 3's rope_freqs)`);
    const linearFactor = scaling === 'linear' ? s.num('rope.scaling.factor', s.num('rope.scale_linear', 1)) : s.num('rope.scale_linear', 1);
    const config: LlamaConfig = {
      architecture: variant,
      dim,
      numLayers: s.num('block_count'),
      numHeads,
      numKvHeads: s.num('attention.head_count_kv', numHeads),
      headDim,
      hiddenDim: s.num('feed_forward_length'),
      vocabSize: embedding.dims[1],
      maxSeqLen: s.num('context_length'),
      ropeTheta: s.num('rope.freq_base', 10000),
      ropeStyle: variant === 'llama' ? 'normal' : 'neox',
      ropeFreqScale: 1 / linearFactor,
      normEps: s.num('attention.layer_norm_rms_epsilon'),
      qkvBias: variant === 'qwen2',
      qkNorm: variant === 'qwen3',
      tiedEmbeddings: !file.tensors.some((t) => t.name === 'output.weight'),
    };
    try {
      validateLlamaConfig(config);
    } catch (err) {
      throw s.fail((err as Error).message);
    }
    return config;
  },

  tensorSpecs: (config, present) => llamaTensorSpecs(config, present.has('rope_freqs.weight')),

  largestMatmul: (c) => ({ rows: 2 * c.hiddenDim, cols: c.dim }),

  bufferBytes(c, shape: EngineShape) {
    const kvCache = 2 * c.numLayers * shape.kvCacheSlots * kvDim(c) * 2; // f16 keys and values
    const tokens = shape.maxTokens;
    // the residual stream, the shared normalised input and projection, q, k, v, attention out, gate, up, act
    const activations = 4 * tokens * (3 * c.dim + 2 * qDim(c) + 2 * kvDim(c) + 3 * c.hiddenDim);
    // logits and probabilities of the sampling rows, and the rows of prompt log probabilities
    const logits = 4 * 3 * shape.maxLogits * c.vocabSize + 4 * 2 * shape.maxLogits * c.dim;
    const scratch = 4 * tokens * Math.max(c.dim, qDim(c), c.hiddenDim) + 4 * c.numHeads * shape.maxContextLen;
    const ropeTable = 4 * shape.maxContextLen * c.headDim;
    return kvCache + activations + logits + scratch + ropeTable;
  },

  build: (config, view, kernels, shape) => new LlamaModel(llamaWeights(config, view), kernels, shape),
};
