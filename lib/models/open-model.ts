import { existsSync } from 'node:fs';
import path from 'node:path';
import { readGguf, type GgufFile } from '../formats/gguf.js';
import { modelFromGguf } from './from-gguf.js';
import { vocabFromGguf } from '../formats/gguf-vocab.js';
import { ModelLoadError } from '../formats/model-load-error.js';
import type { Architecture } from './architecture.js';
import type { ModelConfig } from './model.js';
import type { LlamaConfig } from './llama/llama-config.js';
import { LLAMA_FAMILY } from './llama/llama-architecture.js';
import { llamaTensorSpecs } from './llama/llama-weights.js';
import { isPresetName, MODEL_PRESETS, type PresetName } from './presets.js';
import { f32Layout, type TensorLayout } from '../tensors/weights.js';
import { ByteTokenizer } from '../tokenizer/byte-tokenizer.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { VocabTokenizer } from '../tokenizer/vocab-tokenizer.js';
import type { VocabData } from '../tokenizer/vocab.js';

/**
 * Where a model comes from: a built-in preset (its seeded F32 weights laid out as `tensors`), or a
 * GGUF file whose header has been read and checked; either way its architecture and config.
 */
export type ModelSource = { readonly architecture: Architecture; readonly modelConfig: ModelConfig; readonly tensors: readonly TensorLayout[] } & (
  // the built-in models are llama-shaped: their random weights are seeded by the llama layout
  | { readonly kind: 'built-in'; readonly name: PresetName; readonly modelConfig: LlamaConfig }
  | { readonly kind: 'gguf'; readonly path: string; readonly file: GgufFile; readonly vocab: VocabData }
);

/**
 * A built-in model's name, or the path of a GGUF file (read here: header, metadata, tensor infos;
 * the weights are read later, once). Throws ModelLoadError saying what is wrong.
 */
export function openModel(model: string): ModelSource {
  if (isPresetName(model)) {
    const config = MODEL_PRESETS[model];
    return { kind: 'built-in', name: model, architecture: LLAMA_FAMILY as Architecture, modelConfig: config, tensors: f32Layout(llamaTensorSpecs(config)) };
  }
  if (!model.toLowerCase().endsWith('.gguf') && !existsSync(model)) {
    throw new ModelLoadError(`unknown model "${model}": not a built-in model (${Object.keys(MODEL_PRESETS).join(', ')}) and not a .gguf file`);
  }
  const resolved = path.resolve(model);
  const file = readGguf(resolved);
  const { architecture, config, tensors } = modelFromGguf(file);
  const vocab = vocabFromGguf(file);
  // llama.cpp refuses such a file: ids past the embedding would index beyond it, and tokens past the vocabulary would decode to nothing
  if (vocab.tokens.length !== config.vocabSize) throw new ModelLoadError(`${resolved}: its vocabulary has ${vocab.tokens.length} tokens but token_embd.weight has ${config.vocabSize} rows`);
  return { kind: 'gguf', path: resolved, file, architecture, modelConfig: config, tensors, vocab };
}

/** The model's own tokenizer: the byte tokenizer of the built-in models, or the file's vocabulary. */
export function tokenizerOf(source: ModelSource): Tokenizer {
  if (source.kind === 'built-in') return new ByteTokenizer();
  try {
    return new VocabTokenizer(source.vocab);
  } catch (err) {
    throw new ModelLoadError(`${source.path}: ${(err as Error).message}`);
  }
}

/** The name a model is served under unless told otherwise: a built-in model's name, a GGUF file's file name. */
export function defaultServedModelName(model: string): string {
  return isPresetName(model) ? model : path.basename(model);
}
