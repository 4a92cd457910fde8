import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GGML_TYPE } from '../lib/tensors/tensor-types.js';
import { floatToBfloat, floatToHalf } from '../lib/tensors/quant/half.js';
import { Q8_0_BLOCK, Q8_0_BYTES, quantizeRowQ8_0 } from '../lib/tensors/quant/q8_0.js';
import { deriveSeed, Rng } from '../lib/util/rng.js';
import { meta, writeGguf, type MetadataValue, type TensorToWrite } from './gguf-writer.js';
import { loadVocabulary, type VocabName } from './vocabularies.js';

/**
 * Small checkpoints with seeded random weights and real vocabularies, in every supported
 * architecture and tensor type, written as llama.cpp's converter would write them. The tests
 * and the script that records llama.cpp's outputs on them (scripts/llama-cpp-goldens.ts) build
 * them with this same code, and the goldens record each file's SHA-256, so a change here shows
 * up as a golden mismatch rather than silent drift.
 */
export type Architecture = 'llama' | 'qwen2' | 'qwen3';
export type FileType = 'F32' | 'F16' | 'BF16' | 'Q8_0';

export interface CheckpointSpec {
  readonly name: string;
  readonly arch: Architecture;
  readonly vocab: VocabName;
  readonly type: FileType;
  readonly dim: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly ffn: number;
  readonly contextLength: number;
  readonly tiedEmbeddings: boolean;
  /** Llama 3 rope scaling, written as a rope_freqs tensor the way the converter computes it. */
  readonly llama3RopeScaling?: { readonly factor: number; readonly lowFreqFactor: number; readonly highFreqFactor: number; readonly originalContext: number };
  /** Keep only the first N tokens of the vocabulary (SentencePiece only: bytes come first, so any text still encodes). */
  readonly vocabLimit?: number;
  /** A token the (untied) LM head favours, so that the model emits it: to see generation stop at it. */
  readonly favouredToken?: number;
  /** A chat template in place of the vocabulary's (e.g. a hostile one). */
  readonly chatTemplate?: string;
  readonly seed: number;
}

const TYPES: readonly FileType[] = ['F32', 'F16', 'BF16', 'Q8_0'];

/** Odd sizes where the type allows them; Q8_0 rows must be whole 32-value blocks. */
function llamaShape(type: FileType) {
  return type === 'Q8_0' ? { dim: 64, heads: 4, kvHeads: 2, headDim: 16, ffn: 160 } : { dim: 72, heads: 6, kvHeads: 2, headDim: 12, ffn: 150 };
}

export const CHECKPOINTS: readonly CheckpointSpec[] = [
  ...TYPES.map((type, i) => ({ name: `llama-spm-${type.toLowerCase()}`, arch: 'llama' as const, vocab: 'llama2' as const, type, ...llamaShape(type), layers: 2, contextLength: 512, tiedEmbeddings: false, seed: 100 + i })),
  {
    name: 'llama3-bpe-f16',
    arch: 'llama',
    vocab: 'llama3',
    type: 'F16',
    dim: 64,
    layers: 2,
    heads: 4,
    kvHeads: 1,
    headDim: 16,
    ffn: 192,
    contextLength: 512,
    tiedEmbeddings: true,
    llama3RopeScaling: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 64 },
    seed: 200,
  },
  ...TYPES.map((type, i) => ({ name: `qwen2-${type.toLowerCase()}`, arch: 'qwen2' as const, vocab: 'qwen2.5' as const, type, dim: 32, layers: 2, heads: 2, kvHeads: 1, headDim: 16, ffn: 96, contextLength: 512, tiedEmbeddings: true, seed: 300 + i })),
  {
    // untied, and fond of <|endoftext|>: an end-of-generation token that is not the EOS token (<|im_end|>)
    name: 'qwen2-eog-f16',
    arch: 'qwen2',
    vocab: 'qwen2.5',
    type: 'F16',
    dim: 32,
    layers: 2,
    heads: 2,
    kvHeads: 1,
    headDim: 16,
    ffn: 96,
    contextLength: 512,
    tiedEmbeddings: false,
    favouredToken: 151643,
    seed: 350,
  },
  ...TYPES.map((type, i) => ({ name: `qwen3-${type.toLowerCase()}`, arch: 'qwen3' as const, vocab: 'qwen3' as const, type, dim: 32, layers: 2, heads: 2, kvHeads: 1, headDim: 32, ffn: 96, contextLength: 512, tiedEmbeddings: true, seed: 400 + i })),
  // rows of whole 256-value super-blocks, for the K-quants; a short vocabulary keeps the quantized files small
  { name: 'llama-spm-256-f32', arch: 'llama', vocab: 'llama2', vocabLimit: 1024, type: 'F32', dim: 256, layers: 2, heads: 4, kvHeads: 2, headDim: 64, ffn: 256, contextLength: 512, tiedEmbeddings: true, seed: 500 },
  // rows that are not whole super-blocks (as Qwen2.5-0.5B's 896): K-quant files fall back to Q5_0, Q5_1 and Q8_0 for them
  { name: 'llama-spm-96-f32', arch: 'llama', vocab: 'llama2', vocabLimit: 1024, type: 'F32', dim: 96, layers: 2, heads: 3, kvHeads: 1, headDim: 32, ffn: 160, contextLength: 512, tiedEmbeddings: true, seed: 510 },
];

/**
 * Checkpoints quantized by llama.cpp's own llama-quantize from one of CHECKPOINTS (the golden
 * script does it, and commits the result under test/fixtures/llama-cpp/), so that the blocks
 * the tests read are llama.cpp's. Q4_K_M and Q5_K_M mix Q4_K or Q5_K with Q6_K (the tied
 * embedding and some attn_v/ffn_down); Q4_0 keeps a Q6_K embedding. On rows of 96 values the
 * K-quants give way to Q5_0, Q5_1 and Q8_0, as in real files of models like Qwen2.5-0.5B.
 */
export interface QuantizedCheckpoint {
  readonly name: string;
  readonly source: string;
  /** llama-quantize's type argument */
  readonly quantization: 'Q4_0' | 'Q4_1' | 'Q4_K_M' | 'Q5_K_M';
}

const quantized = (width: 256 | 96, quantization: QuantizedCheckpoint['quantization']): QuantizedCheckpoint => ({
  name: `llama-spm-${width}-${quantization.toLowerCase()}`,
  source: `llama-spm-${width}-f32`,
  quantization,
});

export const QUANTIZED_CHECKPOINTS: readonly QuantizedCheckpoint[] = [
  ...(['Q4_0', 'Q4_K_M', 'Q5_K_M'] as const).map((q) => quantized(256, q)),
  // Q4_K_M and Q5_K_M of rows of 96: Q5_0, Q5_1 and Q8_0 in place of Q4_K, Q5_K and Q6_K
  ...(['Q4_1', 'Q4_K_M', 'Q5_K_M'] as const).map((q) => quantized(96, q)),
];

/** Where a quantized checkpoint's file is committed. */
export function quantizedCheckpointPath(q: QuantizedCheckpoint): string {
  return new URL(`../test/fixtures/llama-cpp/${q.name}.gguf`, import.meta.url).pathname;
}

/** Shapes of real models, for benchmarks: seeded random weights at their size, with their vocabulary. */
export const BENCHMARK_SHAPES: Readonly<Record<string, Omit<CheckpointSpec, 'name' | 'type' | 'seed'>>> = {
  // Qwen2.5-0.5B: 494 M parameters
  'qwen2.5-0.5b': { arch: 'qwen2', vocab: 'qwen2.5', dim: 896, layers: 24, heads: 14, kvHeads: 2, headDim: 64, ffn: 4864, contextLength: 32768, tiedEmbeddings: true },
  // Llama 3.2 1B: 1.24 B parameters
  'llama3.2-1b': {
    arch: 'llama',
    vocab: 'llama3',
    dim: 2048,
    layers: 16,
    heads: 32,
    kvHeads: 8,
    headDim: 64,
    ffn: 8192,
    contextLength: 131072,
    tiedEmbeddings: true,
    llama3RopeScaling: { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192 },
  },
  // the built-in `dummy` model's shape with Llama 2's vocabulary
  'dummy-shape': { arch: 'llama', vocab: 'llama2', dim: 512, layers: 8, heads: 8, kvHeads: 4, headDim: 64, ffn: 1536, contextLength: 4096, tiedEmbeddings: false },
};

export function checkpoint(name: string): CheckpointSpec {
  const spec = CHECKPOINTS.find((c) => c.name === name);
  if (!spec) throw new Error(`no checkpoint ${name}`);
  return spec;
}

/** Writes the checkpoint into `dir` (once per process) and returns its path and SHA-256. */
export function buildCheckpoint(spec: CheckpointSpec, dir: string): { path: string; sha256: string } {
  const file = path.join(dir, `${spec.name}.gguf`);
  const built = builtFiles.get(file);
  if (built) return built;
  mkdirSync(dir, { recursive: true });
  // written aside and renamed into place, so that nobody ever reads half a file
  const partial = `${file}.${process.pid}.partial`;
  writeGguf(partial, metadataOf(spec), tensorsOf(spec));
  renameSync(partial, file);
  const result = { path: file, sha256: createHash('sha256').update(readFileSync(file)).digest('hex') };
  builtFiles.set(file, result);
  return result;
}

const builtFiles = new Map<string, { path: string; sha256: string }>();

const FILE_TYPE: Record<FileType, number> = { F32: 0, F16: 1, Q8_0: 7, BF16: 32 };

/** The spec's vocabulary, cut to its vocabLimit. */
function vocabularyOf(spec: CheckpointSpec): { size: number; metadata: ReadonlyMap<string, MetadataValue> } {
  const vocab = loadVocabulary(spec.vocab);
  const limit = spec.vocabLimit;
  if (limit === undefined) return vocab;
  if (spec.vocab !== 'llama2') throw new Error('only a SentencePiece vocabulary can be cut short');
  const metadata = new Map(vocab.metadata);
  for (const key of ['tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type']) {
    const v = metadata.get(key) as MetadataValue & { value: ArrayLike<unknown> };
    metadata.set(key, { ...v, value: Array.prototype.slice.call(v.value, 0, limit) } as MetadataValue);
  }
  return { size: limit, metadata };
}

function metadataOf(spec: CheckpointSpec): Map<string, MetadataValue> {
  const a = spec.arch;
  const vocab = vocabularyOf(spec);
  const m = new Map<string, MetadataValue>([
    ['general.architecture', meta.str(a)],
    ['general.name', meta.str(`journey-test ${spec.name}`)],
    ['general.file_type', meta.u32(FILE_TYPE[spec.type])],
    [`${a}.context_length`, meta.u32(spec.contextLength)],
    [`${a}.embedding_length`, meta.u32(spec.dim)],
    [`${a}.block_count`, meta.u32(spec.layers)],
    [`${a}.feed_forward_length`, meta.u32(spec.ffn)],
    [`${a}.attention.head_count`, meta.u32(spec.heads)],
    [`${a}.attention.head_count_kv`, meta.u32(spec.kvHeads)],
    [`${a}.attention.layer_norm_rms_epsilon`, meta.f32(a === 'llama' ? 1e-5 : 1e-6)],
    [`${a}.rope.freq_base`, meta.f32(a === 'llama' ? (spec.vocab === 'llama3' ? 500000 : 10000) : 1000000)],
  ]);
  if (a === 'llama') {
    m.set(`${a}.rope.dimension_count`, meta.u32(spec.headDim));
    m.set(`${a}.vocab_size`, meta.u32(vocab.size));
  }
  if (spec.headDim * spec.heads !== spec.dim) {
    m.set(`${a}.attention.key_length`, meta.u32(spec.headDim));
    m.set(`${a}.attention.value_length`, meta.u32(spec.headDim));
  }
  for (const [k, v] of vocab.metadata) m.set(k, v);
  if (spec.chatTemplate !== undefined) m.set('tokenizer.chat_template', meta.str(spec.chatTemplate));
  return m;
}

function tensorsOf(spec: CheckpointSpec): TensorToWrite[] {
  const vocab = vocabularyOf(spec);
  const qDim = spec.heads * spec.headDim;
  const kvDim = spec.kvHeads * spec.headDim;
  let stream = 0;
  const rng = () => new Rng(deriveSeed(spec.seed, stream++));
  const uniform = (n: number, scale: number, center = 0) => {
    const out = new Float32Array(n);
    rng().fillUniform(out, scale);
    if (center !== 0) for (let i = 0; i < n; i++) out[i] += center;
    return out;
  };
  const matrix = (name: string, rows: number, cols: number, scale: number): TensorToWrite => encode(name, spec.type, [cols, rows], uniform(rows * cols, scale));
  const vector = (name: string, n: number, scale: number, center: number): TensorToWrite => encode(name, 'F32', [n], uniform(n, scale, center));

  // a tied embedding is also the LM head: kept small, as trained models keep it, so that the
  // layers' outputs rather than the last token's own embedding decide the next token
  const tensors: TensorToWrite[] = [matrix('token_embd.weight', vocab.size, spec.dim, spec.tiedEmbeddings ? 0.05 : 1)];
  if (spec.llama3RopeScaling) tensors.push(encode('rope_freqs.weight', 'F32', [spec.headDim / 2], llama3RopeFactors(spec)));
  for (let l = 0; l < spec.layers; l++) {
    const b = `blk.${l}`;
    tensors.push(vector(`${b}.attn_norm.weight`, spec.dim, 0.1, 1));
    tensors.push(matrix(`${b}.attn_q.weight`, qDim, spec.dim, 1 / Math.sqrt(spec.dim)));
    tensors.push(matrix(`${b}.attn_k.weight`, kvDim, spec.dim, 1 / Math.sqrt(spec.dim)));
    tensors.push(matrix(`${b}.attn_v.weight`, kvDim, spec.dim, 1 / Math.sqrt(spec.dim)));
    if (spec.arch === 'qwen2') {
      tensors.push(vector(`${b}.attn_q.bias`, qDim, 0.2, 0));
      tensors.push(vector(`${b}.attn_k.bias`, kvDim, 0.2, 0));
      tensors.push(vector(`${b}.attn_v.bias`, kvDim, 0.2, 0));
    }
    if (spec.arch === 'qwen3') {
      tensors.push(vector(`${b}.attn_q_norm.weight`, spec.headDim, 0.1, 1));
      tensors.push(vector(`${b}.attn_k_norm.weight`, spec.headDim, 0.1, 1));
    }
    tensors.push(matrix(`${b}.attn_output.weight`, spec.dim, qDim, 1 / Math.sqrt(qDim)));
    tensors.push(vector(`${b}.ffn_norm.weight`, spec.dim, 0.1, 1));
    tensors.push(matrix(`${b}.ffn_gate.weight`, spec.ffn, spec.dim, 1 / Math.sqrt(spec.dim)));
    tensors.push(matrix(`${b}.ffn_up.weight`, spec.ffn, spec.dim, 1 / Math.sqrt(spec.dim)));
    tensors.push(matrix(`${b}.ffn_down.weight`, spec.dim, spec.ffn, 1 / Math.sqrt(spec.ffn)));
  }
  tensors.push(vector('output_norm.weight', spec.dim, 0.1, 1));
  if (!spec.tiedEmbeddings) {
    const head = uniform(vocab.size * spec.dim, 1 / Math.sqrt(spec.dim));
    if (spec.favouredToken !== undefined) {
      // its row lined up with the final norm's weights (all near 1): a large logit whatever the input
      for (let i = 0; i < spec.dim; i++) head[spec.favouredToken * spec.dim + i] = Math.abs(head[spec.favouredToken * spec.dim + i]) + 0.5;
    }
    tensors.push(encode('output.weight', spec.type, [spec.dim, vocab.size], head));
  }
  return tensors;
}

/** The tensor's bytes in `type`; rows of `dims[0]` values. */
function encode(name: string, type: FileType, dims: number[], values: Float32Array): TensorToWrite {
  const cols = dims[0];
  switch (type) {
    case 'F32':
      return { name, type: GGML_TYPE.F32, dims, data: new Uint8Array(values.buffer) };
    case 'F16':
    case 'BF16': {
      const bits = new Uint16Array(values.length);
      const convert = type === 'F16' ? floatToHalf : floatToBfloat;
      for (let i = 0; i < values.length; i++) bits[i] = convert(values[i]);
      return { name, type: type === 'F16' ? GGML_TYPE.F16 : GGML_TYPE.BF16, dims, data: new Uint8Array(bits.buffer) };
    }
    case 'Q8_0': {
      const rows = values.length / cols;
      const rowBytes = (cols / Q8_0_BLOCK) * Q8_0_BYTES;
      const data = new Uint8Array(rows * rowBytes);
      for (let r = 0; r < rows; r++) quantizeRowQ8_0(values.subarray(r * cols, (r + 1) * cols), data, r * rowBytes);
      return { name, type: GGML_TYPE.Q8_0, dims, data };
    }
  }
}

/** Llama 3's rope_freqs, as convert_hf_to_gguf.py computes them from its rope_scaling config. */
function llama3RopeFactors(spec: CheckpointSpec): Float32Array {
  const s = spec.llama3RopeScaling as NonNullable<CheckpointSpec['llama3RopeScaling']>;
  const base = 500000;
  const out = new Float32Array(spec.headDim / 2);
  const lowFreqWavelen = s.originalContext / s.lowFreqFactor;
  const highFreqWavelen = s.originalContext / s.highFreqFactor;
  for (let i = 0; i < out.length; i++) {
    const freq = 1 / base ** ((2 * i) / spec.headDim);
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highFreqWavelen) out[i] = 1;
    else if (wavelen > lowFreqWavelen) out[i] = s.factor;
    else {
      const smooth = (s.originalContext / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      out[i] = 1 / ((1 - smooth) / s.factor + smooth);
    }
  }
  return out;
}

/** A folder of checkpoints for one test file: built on first use, removed by `remove()`. */
export function checkpointFolder(): { build(name: string): { path: string; sha256: string }; remove(): void } {
  let dir: string | null = null;
  return {
    build(name) {
      dir ??= mkdtempSync(path.join(os.tmpdir(), 'journey-llm-checkpoints-'));
      return buildCheckpoint(checkpoint(name), dir);
    },
    remove() {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = null;
    },
  };
}
