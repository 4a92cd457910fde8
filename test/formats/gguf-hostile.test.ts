import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openModel } from '../../lib/models/open-model.js';
import { prepareEngine } from '../../lib/engine/resolve-config.js';
import { GGML_TYPE } from '../../lib/tensors/tensor-types.js';
import { readGguf, SkippedArray } from '../../lib/formats/gguf.js';
import { ModelLoadError } from '../../lib/formats/model-load-error.js';
import { meta, writeGguf, type MetadataValue, type TensorToWrite } from '../../tools/gguf-writer.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'journey-llm-gguf-hostile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const f32 = (name: string, dims: number[]): TensorToWrite => ({ name, type: GGML_TYPE.F32, dims, data: new Uint8Array(4 * dims.reduce((a, b) => a * b, 1)) });

/** A complete one-layer llama file whose SentencePiece vocabulary has every byte token. */
function llamaFile(name: string, options: { tokens?: string[]; tensors?: (t: TensorToWrite[]) => TensorToWrite[]; extra?: [string, MetadataValue][] } = {}): string {
  const bytes = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  const tokens = options.tokens ?? ['<unk>', '<s>', '</s>', ...bytes, '▁a', '▁b'];
  const types = tokens.map((t) => (t.startsWith('<0x') ? 6 : t.startsWith('<') ? 3 : 1));
  const tensors: TensorToWrite[] = [
    f32('token_embd.weight', [8, tokens.length]),
    ...['attn_norm', 'ffn_norm'].map((n) => f32(`blk.0.${n}.weight`, [8])),
    ...['attn_q', 'attn_k', 'attn_v', 'attn_output'].map((n) => f32(`blk.0.${n}.weight`, [8, 8])),
    ...['ffn_gate', 'ffn_up'].map((n) => f32(`blk.0.${n}.weight`, [8, 16])),
    f32('blk.0.ffn_down.weight', [16, 8]),
    f32('output_norm.weight', [8]),
  ];
  const file = path.join(dir, name);
  writeGguf(
    file,
    new Map<string, MetadataValue>([
      ['general.architecture', meta.str('llama')],
      ['llama.embedding_length', meta.u32(8)],
      ['llama.block_count', meta.u32(1)],
      ['llama.feed_forward_length', meta.u32(16)],
      ['llama.attention.head_count', meta.u32(2)],
      ['llama.context_length', meta.u32(64)],
      ['llama.attention.layer_norm_rms_epsilon', meta.f32(1e-5)],
      ['tokenizer.ggml.model', meta.str('llama')],
      ['tokenizer.ggml.tokens', meta.strs(tokens)],
      ['tokenizer.ggml.token_type', meta.i32s(types)],
      ...(options.extra ?? []),
    ]),
    options.tensors ? options.tensors(tensors) : tensors,
  );
  return file;
}

const isLoadError = (pattern: RegExp) => (err: unknown) => err instanceof ModelLoadError && pattern.test(err.message) && !err.message.includes('\n');

describe('a hostile model file is one line at start, in bounded memory', () => {
  it('reads a complete file, and its engine prepares', async () => {
    const prepared = await prepareEngine({ model: llamaFile('good.gguf'), kernels: 'reference' });
    assert.equal(prepared.config.modelConfig.vocabSize, 261);
  });

  it('steps over string arrays no model reads, building none of their strings', () => {
    const many = Array.from({ length: 2_000_000 }, (_, i) => (i % 9999).toString(36).padStart(4, 'x'));
    const before = process.memoryUsage().heapUsed;
    const file = readGguf(llamaFile('strings.gguf', { extra: [['junk.strings', meta.strs(many)]] }));
    const grown = (process.memoryUsage().heapUsed - before) / 2 ** 20;
    const junk = file.metadata.get('junk.strings');
    assert.ok(junk instanceof SkippedArray && junk.length === 2_000_000 && junk.elements === 'string');
    assert.ok(grown < 24, `the heap grew by ${grown.toFixed(0)} MiB for a 24 MB array of short strings`);
  });

  it('refuses a vocabulary of more entries than any has', () => {
    const file = llamaFile('huge-vocab.gguf', { extra: [['tokenizer.ggml.merges', meta.strs(Array.from({ length: (1 << 21) + 1 }, () => ''))]] });
    assert.throws(() => readGguf(file), isLoadError(/has 2097153 entries in tokenizer.ggml.merges; at most 2097152/));
  });

  it('refuses a file of 180,000 tensors by their count, before reading them', () => {
    const file = llamaFile('many-tensors.gguf', { tensors: (t) => [...t, ...Array.from({ length: 180_000 }, (_, i) => f32(`x.${i}`, [1]))] });
    assert.throws(() => readGguf(file), isLoadError(/has 180011 tensors; at most 65536 are supported/));
  });

  it('refuses a FIFO as the model, at once', () => {
    const fifo = path.join(dir, 'pipe.gguf');
    execFileSync('mkfifo', [fifo]);
    assert.throws(() => openModel(fifo), isLoadError(/is not a regular file/));
  });

  it('says what a missing file is in words, not an errno', () => {
    assert.throws(() => openModel(path.join(dir, 'nowhere.gguf')), isLoadError(/cannot open .*nowhere\.gguf: no such file$/));
  });

  it('refuses a SentencePiece vocabulary without its byte tokens', async () => {
    const file = llamaFile('no-bytes.gguf', { tokens: ['<unk>', '<s>', '</s>', '▁a', '▁b', 'a', 'b'] });
    await assert.rejects(prepareEngine({ model: file, kernels: 'reference' }), isLoadError(/no token for 254 of the 256 bytes \(<0x00>/));
  });

  it('refuses a vocabulary whose size differs from the embedding', () => {
    const file = llamaFile('sizes.gguf', { tensors: (t) => [f32('token_embd.weight', [8, 300]), ...t.slice(1)] });
    assert.throws(() => openModel(file), isLoadError(/its vocabulary has 261 tokens but token_embd.weight has 300 rows/));
  });

  it('refuses a tensor of the wrong shape before any weight is read, naming the file', () => {
    const file = llamaFile('shape.gguf', { tensors: (t) => t.map((x) => (x.name === 'blk.0.attn_k.weight' ? f32(x.name, [8, 6]) : x)) });
    assert.throws(() => openModel(file), (err: unknown) => isLoadError(/tensor blk.0.attn_k.weight is \[8, 6\], expected \[8, 8\]/)(err) && (err as Error).message.startsWith(file));
  });

  it('refuses an alignment past 2^32 that 32-bit arithmetic would take for a power of two', () => {
    const file = llamaFile('align.gguf', { extra: [['general.alignment', { type: 'u64', value: 2 ** 33 + 2 ** 32 }]] });
    assert.throws(() => readGguf(file), isLoadError(/general.alignment 12884901888, which is not a power of two/));
  });

  it('refuses tensors that overlap in the data section', () => {
    const file = llamaFile('overlap.gguf');
    const bytes = readFileSync(file);
    // the second tensor's offset, moved onto the first tensor's data
    const name = Buffer.from('blk.0.attn_norm.weight');
    const at = bytes.indexOf(name) + name.length + 4 + 8 + 4;
    bytes.writeBigUInt64LE(0n, at);
    writeFileSync(file, bytes);
    assert.throws(() => readGguf(file), isLoadError(/tensors "token_embd.weight" and "blk.0.attn_norm.weight" overlap/));
  });

  it('exits the CLI with status 1 and one line for a misshapen file', async () => {
    const file = llamaFile('cli-shape.gguf', { tensors: (t) => t.map((x) => (x.name === 'blk.0.ffn_up.weight' ? f32(x.name, [8, 12]) : x)) });
    const child = spawn(process.execPath, [new URL('../../lib/server.js', import.meta.url).pathname, '--model', file, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 1);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, /tensor blk.0.ffn_up.weight is \[8, 12\]/);
  });
});
