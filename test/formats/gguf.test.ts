import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { openModel } from '../../lib/models/open-model.js';
import { prepareEngine } from '../../lib/engine/resolve-config.js';
import { GGML_TYPE } from '../../lib/tensors/tensor-types.js';
import { readGguf } from '../../lib/formats/gguf.js';
import { checkpointFolder } from '../../tools/checkpoints.js';
import { meta, writeGguf, type MetadataValue, type TensorToWrite } from '../../tools/gguf-writer.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'journey-llm-gguf-'));
const folder = checkpointFolder();
after(() => {
  rmSync(dir, { recursive: true, force: true });
  folder.remove();
});

/** A tiny GGUF: a few metadata values and two F32 tensors. */
function tinyFile(name: string, extra: [string, MetadataValue][] = [], tensors?: TensorToWrite[]): string {
  const file = path.join(dir, name);
  writeGguf(
    file,
    new Map<string, MetadataValue>([['general.architecture', meta.str('llama')], ['general.name', meta.str('tiny ✓')], ...extra]),
    tensors ?? [
      { name: 'a', type: GGML_TYPE.F32, dims: [4, 3], data: new Uint8Array(48).fill(1) },
      { name: 'b', type: GGML_TYPE.F16, dims: [5], data: new Uint8Array(10).fill(2) },
    ],
  );
  return file;
}

/** A copy of `file` with `patch` applied to its bytes. */
function patched(file: string, name: string, patch: (bytes: Buffer) => Buffer): string {
  const out = path.join(dir, name);
  writeFileSync(out, patch(readFileSync(file)));
  return out;
}

describe('GGUF reader', () => {
  it('reads the header, metadata and tensor infos of a file, with the data aligned', () => {
    const f = readGguf(tinyFile('good.gguf', [['x.count', meta.u32(7)], ['x.scores', meta.f32s([0.5, -1])], ['tokenizer.ggml.tokens', meta.strs(['α', 'β'])], ['x.words', meta.strs(['γ'])]]));
    assert.equal(f.version, 3);
    assert.equal(f.metadata.get('general.name'), 'tiny ✓');
    assert.equal(f.metadata.get('x.count'), 7);
    assert.deepEqual([...(f.metadata.get('x.scores') as Float32Array)], [0.5, -1]);
    assert.deepEqual(f.metadata.get('tokenizer.ggml.tokens'), ['α', 'β']);
    // strings of a key no model reads are stepped over, not built
    assert.deepEqual({ ...(f.metadata.get('x.words') as object) }, { elements: 'string', length: 1 });
    assert.deepEqual(
      f.tensors.map((t) => [t.name, t.type, t.dims, t.offset, t.byteLength]),
      [
        ['a', GGML_TYPE.F32, [4, 3], 0, 48],
        ['b', GGML_TYPE.F16, [5], 64, 10],
      ],
    );
    assert.equal(f.dataOffset % 32, 0);
  });

  it('reads a whole checkpoint with a 150k-token vocabulary', () => {
    const f = readGguf(folder.build('qwen3-q8_0').path);
    assert.equal((f.metadata.get('tokenizer.ggml.tokens') as string[]).length, 151936);
    assert.ok(f.tensors.some((t) => t.name === 'blk.1.attn_k_norm.weight'));
  });

  const good = () => tinyFile('base.gguf');
  for (const [what, make, message] of [
    ['an empty file', () => patched(good(), 'empty.gguf', () => Buffer.alloc(0)), /too short for a GGUF header/],
    ['a file that is not GGUF', () => patched(good(), 'magic.gguf', (b) => Buffer.concat([Buffer.from('GGML'), b.subarray(4)])), /is not a GGUF file/],
    ['GGUF version 1', () => patched(good(), 'v1.gguf', (b) => (b.writeUInt32LE(1, 4), b)), /version 1; versions 2 and 3 are supported/],
    ['a header cut in its metadata', () => patched(good(), 'cut-meta.gguf', (b) => b.subarray(0, 40)), /truncated/],
    ['a header cut in its tensor infos', () => patched(good(), 'cut-infos.gguf', (b) => b.subarray(0, 110)), /truncated/],
    ['tensor data cut short', () => patched(good(), 'cut-data.gguf', (b) => b.subarray(0, b.length - 40)), /tensor "b" needs bytes 64 to 74 of the data section, which holds/],
    ['a string length beyond the file', () => patched(good(), 'long-string.gguf', (b) => (b.writeBigUInt64LE(1n << 40n, 24), b)), /more than the rest of the file can hold/],
    ['a tensor count beyond the file', () => patched(good(), 'many.gguf', (b) => (b.writeBigUInt64LE(1n << 50n, 8), b)), /tensor count is \d+, more than the rest/],
    ['an unknown metadata type', () => patched(good(), 'type.gguf', (b) => (b.writeUInt32LE(99, 24 + 8 + 'general.architecture'.length), b)), /unknown value type 99/],
    ['an unknown tensor type', () => tinyFile('tensor-type.gguf', [], [{ name: 'a', type: 77, dims: [4], data: new Uint8Array(16) }]), /unknown type 77/],
    ['rows that are not whole blocks', () => tinyFile('blocks.gguf', [], [{ name: 'q', type: GGML_TYPE.Q8_0, dims: [40, 2], data: new Uint8Array(68) }]), /rows of 40 values, not a whole number of Q8_0 blocks/],
    [
      'a repeated metadata key',
      // written as general.namf, then renamed in place
      () => patched(tinyFile('dup-base.gguf', [['general.namf', meta.str('again')]]), 'dup.gguf', (b) => (b[b.indexOf('general.namf') + 11] = 'e'.charCodeAt(0), b)),
      /"general.name" twice/,
    ],
  ] as [string, () => string, RegExp][]) {
    it(`refuses ${what}, saying why`, () => {
      assert.throws(() => readGguf(make()), (err: unknown) => err instanceof Error && err.name === 'ModelLoadError' && message.test(err.message));
    });
  }
});

describe('what a GGUF file may hold', () => {
  const llamaMeta = (extra: [string, MetadataValue][] = []): [string, MetadataValue][] => [
    ['llama.embedding_length', meta.u32(8)],
    ['llama.block_count', meta.u32(1)],
    ['llama.feed_forward_length', meta.u32(16)],
    ['llama.attention.head_count', meta.u32(2)],
    ['llama.context_length', meta.u32(64)],
    ['llama.attention.layer_norm_rms_epsilon', meta.f32(1e-5)],
    ['tokenizer.ggml.model', meta.str('llama')],
    ['tokenizer.ggml.tokens', meta.strs(['<unk>', '<s>', '</s>', '▁a', '▁b', 'a', 'b', 'c', 'd', 'e'])],
    ...extra,
  ];
  const f32 = (name: string, dims: number[]) => ({ name, type: GGML_TYPE.F32, dims, data: new Uint8Array(4 * dims.reduce((a, b) => a * b, 1)) });
  const llamaTensors = (): TensorToWrite[] => [
    f32('token_embd.weight', [8, 10]),
    ...['attn_norm', 'ffn_norm'].map((n) => f32(`blk.0.${n}.weight`, [8])),
    ...['attn_q', 'attn_k', 'attn_v', 'attn_output'].map((n) => f32(`blk.0.${n}.weight`, [8, 8])),
    ...['ffn_gate', 'ffn_up'].map((n) => f32(`blk.0.${n}.weight`, [8, 16])),
    f32('blk.0.ffn_down.weight', [16, 8]),
    f32('output_norm.weight', [8]),
  ];

  it('takes a complete llama file', () => {
    const source = openModel(tinyFile('llama.gguf', llamaMeta(), llamaTensors()));
    assert.equal(source.kind, 'gguf');
    assert.deepEqual({ ...source.modelConfig }, {
      ...source.modelConfig,
      architecture: 'llama',
      dim: 8,
      headDim: 4,
      numKvHeads: 2,
      vocabSize: 10,
      ropeStyle: 'normal',
      tiedEmbeddings: true,
    });
  });

  for (const [what, file, message] of [
    ['an unsupported architecture', () => tinyFile('arch.gguf', [['general.architecture', meta.str('gemma3')]]), /architecture "gemma3" is not supported; supported: llama, qwen2, qwen3/],
    ['a tensor type this build cannot compute', () => tinyFile('q2k.gguf', llamaMeta(), [...llamaTensors().filter((t) => t.name !== 'blk.0.ffn_up.weight'), { name: 'blk.0.ffn_up.weight', type: GGML_TYPE.Q2_K, dims: [256, 16], data: new Uint8Array(16 * 84) }]), /tensor blk.0.ffn_up.weight is Q2_K; supported for matrices: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K/],
    ['a missing tensor', () => tinyFile('missing.gguf', llamaMeta(), llamaTensors().filter((t) => t.name !== 'blk.0.attn_v.weight')), /lacks tensor blk.0.attn_v.weight/],
    ['a tensor it would ignore', () => tinyFile('extra.gguf', llamaMeta(), [...llamaTensors(), f32('blk.0.attn_output.bias', [8])]), /does not use, blk.0.attn_output.bias/],
    ['a missing hyperparameter', () => tinyFile('no-eps.gguf', llamaMeta().filter(([k]) => !k.endsWith('epsilon')), llamaTensors()), /lacks llama.attention.layer_norm_rms_epsilon/],
    ['YaRN rope scaling', () => tinyFile('yarn.gguf', llamaMeta([['llama.rope.scaling.type', meta.str('yarn')]]), llamaTensors()), /RoPE scaling "yarn"; supported: none, linear/],
    ['partial rotary embeddings', () => tinyFile('partial.gguf', llamaMeta([['llama.rope.dimension_count', meta.u32(2)]]), llamaTensors()), /rotates 2 of each head's 4 dimensions/],
  ] as [string, () => string, RegExp][]) {
    it(`refuses ${what} at start, naming it`, () => {
      assert.throws(() => openModel(file()), (err: unknown) => err instanceof Error && err.name === 'ModelLoadError' && message.test(err.message));
    });
  }

  it('refuses, with the figures, weights and KV cache that do not fit a WebAssembly memory', async () => {
    await assert.rejects(prepareEngine({ model: 'dummy-tiny', kernels: 'wasm', kvCacheTokens: 20_000_000 }), (err: Error) => {
      assert.equal(err.name, 'ModelLoadError');
      assert.match(err.message, /weights take 0\.00 GiB and each of 1 engine replica\(s\) 4\.\d\d GiB \(KV cache for 20000000 tokens.*over the 4\.00 GiB a WebAssembly memory can hold/);
      return true;
    });
  });
});
