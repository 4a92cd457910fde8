import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { GpuJsKernels } from '../../lib/backends/gpujs/gpujs-kernels.js';
import { createWasmKernels, WasmKernels } from '../../lib/backends/wasm/wasm-kernels.js';
import { loadNativeAddon } from '../../lib/backends/native/native-addon.js';
import { NativeKernels } from '../../lib/backends/native/native-kernels.js';
import { KERNEL_TOLERANCE, type AttentionBatch, type AttentionShape, type Kernels, type RopeSpec } from '../../lib/backends/kernels.js';
import { f32Tensor, type WeightTensor } from '../../lib/tensors/weights.js';
import { GGML_TYPE } from '../../lib/tensors/tensor-types.js';
import { floatToBfloat, floatToHalf, halfToFloat } from '../../lib/tensors/quant/half.js';
import { Q8_0_BLOCK, Q8_0_BYTES, quantizeRowQ8_0 } from '../../lib/tensors/quant/q8_0.js';
import { dequantize } from '../../lib/tensors/dequantize.js';
import { ReferenceKernels } from '../../lib/backends/reference/reference-kernels.js';
import { MODEL_PRESETS } from '../../lib/models/presets.js';
import { Rng } from '../../lib/util/rng.js';
import { assertClose } from '../helpers/close.js';

const rng = new Rng(1234);
const random = (n: number, scale = 1) => {
  const a = new Float32Array(n);
  rng.fillUniform(a, scale);
  return a;
};
/** f16 bits of random values, as a KV cache holds them. */
const randomHalf = (n: number, scale = 1) => Uint16Array.from(random(n, scale), floatToHalf);

/** `values` [rows, cols] stored as `type`, as a model file would hold them. */
function tensorOf(type: 'F32' | 'F16' | 'BF16' | 'Q8_0', values: Float32Array, rows: number, cols: number): WeightTensor {
  if (type === 'F32') return f32Tensor(values, rows, cols);
  if (type === 'Q8_0') {
    const rowBytes = (cols / Q8_0_BLOCK) * Q8_0_BYTES;
    const bytes = new Uint8Array(rows * rowBytes);
    for (let r = 0; r < rows; r++) quantizeRowQ8_0(values.subarray(r * cols, (r + 1) * cols), bytes, r * rowBytes);
    return { type: GGML_TYPE.Q8_0, rows, cols, bytes };
  }
  const bits = Uint16Array.from(values, type === 'F16' ? floatToHalf : floatToBfloat);
  return { type: type === 'F16' ? GGML_TYPE.F16 : GGML_TYPE.BF16, rows, cols, bytes: new Uint8Array(bits.buffer) };
}

/** Where each quantized type keeps its f16 block scales (byte offsets in a block), and its block size in values and bytes. */
const QUANT_LAYOUT = {
  Q4_0: { type: GGML_TYPE.Q4_0, values: 32, bytes: 18, scales: [0], step: 15 },
  Q4_1: { type: GGML_TYPE.Q4_1, values: 32, bytes: 20, scales: [0, 2], step: 15 },
  Q5_0: { type: GGML_TYPE.Q5_0, values: 32, bytes: 22, scales: [0], step: 31 },
  Q5_1: { type: GGML_TYPE.Q5_1, values: 32, bytes: 24, scales: [0, 2], step: 31 },
  Q4_K: { type: GGML_TYPE.Q4_K, values: 256, bytes: 144, scales: [0, 2], step: 63 * 15 },
  Q5_K: { type: GGML_TYPE.Q5_K, values: 256, bytes: 176, scales: [0, 2], step: 63 * 31 },
  Q6_K: { type: GGML_TYPE.Q6_K, values: 256, bytes: 210, scales: [208], step: 127 * 32 },
} as const;
type QuantName = keyof typeof QUANT_LAYOUT;

/**
 * A [rows, cols] tensor of random blocks of `name`: every bit pattern of the quants, scales and
 * mins is valid, so random bytes are a fair test; only the f16 super-scales are set, so that
 * values come out of order 1/√cols as in a trained model.
 */
function randomBlocks(name: QuantName, rows: number, cols: number): WeightTensor {
  const layout = QUANT_LAYOUT[name];
  const numBlocks = (rows * cols) / layout.values;
  const bytes = new Uint8Array(numBlocks * layout.bytes);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.nextUint32() & 0xff;
  for (let b = 0; b < numBlocks; b++) {
    for (const at of layout.scales) {
      const bits = floatToHalf(((0.5 + rng.nextFloat()) * 2) / (layout.step * Math.sqrt(cols)));
      bytes[b * layout.bytes + at] = bits & 0xff;
      bytes[b * layout.bytes + at + 1] = bits >> 8;
    }
  }
  return { type: layout.type, rows, cols, bytes };
}

const rope = (headDim: number, style: RopeSpec['style'], freqFactors: Float32Array | null = null): RopeSpec => ({ headDim, theta: 10000, style, freqScale: 1, freqFactors });

const reference = new ReferenceKernels();
const gpujsBackends = [new GpuJsKernels({ mode: 'cpu', maxContextLen: 2048 }), new GpuJsKernels({ mode: 'webasm', maxContextLen: 2048 })];
// every SIMD path of the native kernels this CPU has, one thread and three
const native = loadNativeAddon().addon;
const nativeBackends = (native?.cpu().paths ?? []).flatMap((isa) => [1, 3].map((threads) => new NativeKernels(native!, { maxContextLen: 2048, threads, isa, weightsMapped: false })));
const backends: Kernels[] = [new WasmKernels({ maxContextLen: 2048 }), ...gpujsBackends, ...nativeBackends];
after(() => backends.forEach((b) => b.dispose()));

/** Runs `op` on the reference and on `backend` over fresh copies of `inputs`; compares the outputs. */
async function compare(backend: Kernels, what: string, outLength: number, op: (k: Kernels, out: Float32Array) => unknown): Promise<void> {
  const expected = new Float32Array(outLength);
  const actual = new Float32Array(outLength);
  await op(reference, expected);
  await op(backend, actual);
  assertClose(actual, expected, `${backend.name} ${what}`);
}

/** The matmul shapes of the built-in models, rows × cols. */
function matmulShapes(): [number, number][] {
  const shapes = new Map<string, [number, number]>();
  for (const c of [MODEL_PRESETS['dummy-tiny'], MODEL_PRESETS.dummy]) {
    const hd = c.headDim;
    for (const s of [
      [c.numHeads * hd, c.dim],
      [c.numKvHeads * hd, c.dim],
      [c.dim, c.dim],
      [c.hiddenDim, c.dim],
      [c.dim, c.hiddenDim],
      [c.vocabSize, c.dim],
    ] as [number, number][]) {
      shapes.set(s.join('x'), s);
    }
  }
  return [...shapes.values(), [7, 13]];
}

/** A batch of sequences with the given context lengths, decoding their last `chunk` tokens each. */
function attentionBatch(contextLens: number[], chunk: number, blockSize: number, maxBlocksPerSeq: number) {
  const numBlocks = contextLens.reduce((s, n) => s + Math.ceil(n / blockSize), 0) + 3;
  // a scrambled block order, so that a kernel ignoring the block table gets it wrong
  const free = Array.from({ length: numBlocks }, (_, i) => (i * 7919) % numBlocks);
  const blockTables = new Int32Array(contextLens.length * maxBlocksPerSeq);
  const positions: number[] = [];
  const tokenSeq: number[] = [];
  contextLens.forEach((len, s) => {
    for (let b = 0; b < Math.ceil(len / blockSize); b++) blockTables[s * maxBlocksPerSeq + b] = free.pop() as number;
    for (let p = len - chunk; p < len; p++) {
      positions.push(p);
      tokenSeq.push(s);
    }
  });
  const batch: AttentionBatch = {
    numTokens: positions.length,
    positions: Int32Array.from(positions),
    slotMapping: new Int32Array(positions.length),
    tokenSeq: Int32Array.from(tokenSeq),
    blockTables,
  };
  return { batch, numSlots: numBlocks * blockSize };
}

for (const backend of backends) {
  describe(`${backend.name} kernels match the reference`, () => {
    for (const [rows, cols] of matmulShapes()) {
      for (const n of [1, 3, 8]) {
        it(`matmul ${rows}×${cols}, batch ${n}`, async () => {
          const w = random(rows * cols, 1 / Math.sqrt(cols));
          const x = random(n * cols);
          await compare(backend, 'matmul', n * rows, (k, out) => k.matmul(out, x, k.loadMatrix(f32Tensor(w, rows, cols)), n));
        });
      }
    }

    // F16 and BF16 rows of any width; Q8_0 rows of whole 32-value blocks
    for (const [type, rows, cols] of [
      ['F16', 37, 150],
      ['BF16', 37, 150],
      ['F16', 512, 64],
      ['Q8_0', 37, 160],
      ['Q8_0', 262, 64],
    ] as const) {
      for (const n of [1, 5]) {
        it(`matmul ${type} ${rows}×${cols}, batch ${n}`, async () => {
          const w = tensorOf(type, random(rows * cols, 1 / Math.sqrt(cols)), rows, cols);
          const x = random(n * cols, 3);
          await compare(backend, `${type} matmul`, n * rows, (k, out) => k.matmul(out, x, k.loadMatrix(w), n));
        });
      }
    }

    // 4-, 5- and 6-bit blocks; batches that fill a token tile (32) and spill past it
    for (const [name, rows, cols] of [
      ['Q4_0', 37, 160],
      ['Q4_1', 37, 96],
      ['Q5_0', 19, 288],
      ['Q5_1', 37, 160],
      ['Q4_K', 37, 512],
      ['Q5_K', 19, 256],
      ['Q6_K', 37, 768],
    ] as const) {
      for (const n of [1, 5, 33]) {
        it(`matmul ${name} ${rows}×${cols}, batch ${n}`, async () => {
          const w = randomBlocks(name, rows, cols);
          const x = random(n * cols, 3);
          if (name !== 'Q4_1' && name !== 'Q5_1') {
            await compare(backend, `${name} matmul`, n * rows, (k, out) => k.matmul(out, x, k.loadMatrix(w), n));
            return;
          }
          // The offset types meet llama.cpp's Q8_1 activations, whose block sum s = d·Σq is kept in
          // f16 (from d before its own rounding); the reference sums the dequantized activations.
          // So out[t, r] may also differ by Σ_b |m_rb| · |s_tb| · 2^-10 (both roundings), s_tb ≤ Σ_b |x|.
          const expected = new Float32Array(n * rows);
          const actual = new Float32Array(n * rows);
          await reference.matmul(expected, x, reference.loadMatrix(w), n);
          await backend.matmul(actual, x, backend.loadMatrix(w), n);
          const layout = QUANT_LAYOUT[name];
          const view = new DataView(w.bytes.buffer, w.bytes.byteOffset);
          for (let t = 0; t < n; t++) {
            for (let r = 0; r < rows; r++) {
              let slack = 0;
              for (let b = 0; b < cols / 32; b++) {
                const m = Math.abs(halfToFloat(view.getUint16((r * (cols / 32) + b) * layout.bytes + 2, true)));
                let xs = 0;
                for (let j = 0; j < 32; j++) xs += Math.abs(x[t * cols + b * 32 + j]);
                slack += m * xs * 2 ** -10;
              }
              const e = expected[t * rows + r];
              const diff = Math.abs(actual[t * rows + r] - e);
              assert.ok(diff <= KERNEL_TOLERANCE.atol + KERNEL_TOLERANCE.rtol * Math.abs(e) + slack, `${backend.name} ${name} out[${t}, ${r}] = ${actual[t * rows + r]}, expected ${e}`);
            }
          }
        });
      }
    }

    it('embed, from every weight type', async () => {
      const ids = Int32Array.from([3, 0, 36, 3]);
      for (const type of ['F32', 'F16', 'BF16', 'Q8_0'] as const) {
        const table = tensorOf(type, random(37 * 64), 37, 64);
        await compare(backend, `${type} embed`, 4 * 64, (k, out) => k.embed(out, ids, k.loadMatrix(table), 4));
      }
      for (const name of ['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K'] as const) {
        const table = randomBlocks(name, 37, 256);
        await compare(backend, `${name} embed`, 4 * 256, (k, out) => k.embed(out, ids, k.loadMatrix(table), 4));
      }
    });

    it('addBias', async () => {
      const bias = random(19);
      const x = random(3 * 19);
      await compare(backend, 'addBias', 3 * 19, (k, out) => {
        out.set(x);
        return k.addBias(out, bias, 3, 19);
      });
    });

    it('rmsNorm', async () => {
      for (const dim of [64, 512, 173]) {
        const x = random(5 * dim, 3);
        const weight = random(dim);
        await compare(backend, `rmsNorm dim ${dim}`, 5 * dim, (k, out) => k.rmsNorm(out, x, weight, 5, dim, 1e-5));
      }
    });

    it('rope, both pairings, with and without frequency factors, at positions up to the longest context', async () => {
      const positions = Int32Array.from([0, 1, 17, 1000, 2047]);
      for (const [numHeads, headDim] of [
        [4, 16],
        [8, 64],
      ]) {
        const x = random(positions.length * numHeads * headDim);
        const factors = Float32Array.from({ length: headDim / 2 }, (_, i) => 1 + i / 4);
        for (const spec of [rope(headDim, 'neox'), rope(headDim, 'normal'), rope(headDim, 'normal', factors)]) {
          await compare(backend, `rope ${numHeads}×${headDim} ${spec.style}`, x.length, (k, out) => {
            out.set(x);
            return k.rope(out, positions, positions.length, numHeads, spec);
          });
        }
      }
    });

    it('siluMul, softmax and addInPlace', async () => {
      const gate = random(3 * 174, 4);
      const up = random(3 * 174, 4);
      await compare(backend, 'siluMul', 3 * 174, (k, out) => k.siluMul(out, gate, up, 3, 174));
      const logits = random(4 * 262, 8);
      const invTemperature = Float32Array.from([1, 2, 0.5, 1 / 0.7]);
      await compare(backend, 'softmax', 4 * 262, (k, out) => k.softmax(out, logits, invTemperature, 4, 262));
      const y = random(100);
      await compare(backend, 'addInPlace', 100, (k, out) => {
        out.fill(0.5);
        return k.addInPlace(out, y, 100);
      });
    });

    it('storeKv writes each row to its slot, as f16', async () => {
      const kvDim = 8;
      const k = random(3 * kvDim);
      const v = random(3 * kvDim);
      const slots = Int32Array.from([5, 0, 9]);
      const cache = backend.createKvCache(2, 10, kvDim);
      await backend.storeKv(cache, 1, k, v, slots, 3);
      assert.deepEqual([...cache.keys[1].subarray(9 * kvDim, 10 * kvDim)], [...k.subarray(2 * kvDim)].map(floatToHalf));
      assert.deepEqual([...cache.values[1].subarray(0, kvDim)], [...v.subarray(kvDim, 2 * kvDim)].map(floatToHalf));
      assert.ok(cache.keys[0].every((x) => x === 0));
    });

    for (const { label, contextLens, chunk, shape, blockSize: blockSizeOf } of [
      { label: 'decode, mixed lengths, grouped heads', contextLens: [1, 5, 40], chunk: 1, shape: { numHeads: 4, numKvHeads: 2, headDim: 16 } },
      { label: 'chunked prefill', contextLens: [37, 12], chunk: 9, shape: { numHeads: 8, numKvHeads: 4, headDim: 64 } },
      // longer than gpu.js's default loop limit of 1000: a truncated loop fails here
      { label: 'a 1,900-token context', contextLens: [1900, 3], chunk: 1, shape: { numHeads: 4, numKvHeads: 2, headDim: 16 } },
      // prompts longer than a tile of queries that share each key, in blocks of 5, heads of 10
      { label: 'prompts past a query tile, odd head and block sizes', contextLens: [45, 41], chunk: 40, shape: { numHeads: 6, numKvHeads: 2, headDim: 10 }, blockSize: 5 },
    ] as { label: string; contextLens: number[]; chunk: number; shape: { numHeads: number; numKvHeads: number; headDim: number }; blockSize?: number }[]) {
      it(`attention: ${label}`, async () => {
        const blockSize = blockSizeOf ?? 16;
        const maxBlocksPerSeq = 128;
        const { batch, numSlots } = attentionBatch(contextLens, chunk, blockSize, maxBlocksPerSeq);
        const full: AttentionShape = { ...shape, blockSize, maxBlocksPerSeq };
        const kvDim = shape.numKvHeads * shape.headDim;
        const keys = randomHalf(numSlots * kvDim);
        const values = randomHalf(numSlots * kvDim);
        const q = random(batch.numTokens * shape.numHeads * shape.headDim, 2);
        await compare(backend, 'attention', q.length, (k, out) => {
          const cache = k.createKvCache(1, numSlots, kvDim);
          cache.keys[0].set(keys);
          cache.values[0].set(values);
          return k.attention(out, q, cache, 0, batch, full);
        });
      });
    }

    it('treats a batch of zero rows as nothing to do', async () => {
      const out = new Float32Array(4).fill(7);
      await backend.matmul(out, new Float32Array(0), backend.loadMatrix(f32Tensor(random(8), 2, 4)), 0);
      await backend.rmsNorm(out, new Float32Array(0), random(4), 0, 4, 1e-5);
      await backend.softmax(out, new Float32Array(0), new Float32Array(0), 0, 4);
      assert.deepEqual([...out], [7, 7, 7, 7]);
    });

    if (backend instanceof GpuJsKernels) {
      it('ran every kernel on the requested gpu.js backend, with no silent fallback', () => {
        assert.deepEqual(backend.executedModes(), [backend.options.mode]);
      });
    }
  });
}

describe('gpu.js loop limit', () => {
  it('is what makes long contexts come out right: at the default limit the long-context case fails', async () => {
    const truncated = new GpuJsKernels({ mode: 'webasm', maxContextLen: 1000 });
    try {
      const shape = { numHeads: 4, numKvHeads: 2, headDim: 16, blockSize: 16, maxBlocksPerSeq: 128 };
      const { batch, numSlots } = attentionBatch([1900], 1, 16, 128);
      const kvDim = 32;
      const keys = randomHalf(numSlots * kvDim);
      const values = randomHalf(numSlots * kvDim);
      const q = random(4 * 16, 2);
      await assert.rejects(
        compare(truncated, 'attention', q.length, (k, out) => {
          const cache = k.createKvCache(1, numSlots, kvDim);
          cache.keys[0].set(keys);
          cache.values[0].set(values);
          return k.attention(out, q, cache, 0, batch, shape);
        }),
        /attention: element/,
      );
    } finally {
      truncated.dispose();
    }
  });
});

describe('wasm kernels in shared memory', () => {
  it('compute the same with their own buffers as with arrays from outside', async () => {
    const k = new WasmKernels({ maxContextLen: 64 });
    const rows = 13;
    const cols = 29;
    const w = random(rows * cols);
    const xOutside = random(5 * cols);
    const xInside = k.allocateFloat32(5 * cols);
    xInside.set(xOutside);
    const m = k.loadMatrix(f32Tensor(w, rows, cols));
    const a = new Float32Array(5 * rows);
    const b = k.allocateFloat32(5 * rows);
    await k.matmul(a, xOutside, m, 5);
    await k.matmul(b, xInside, m, 5);
    assert.deepEqual([...b], [...a]);
    k.dispose();
  });

  it('read weights in the shared memory where they are, and several engines share one memory', async () => {
    const first = new WasmKernels({ maxContextLen: 64 });
    const memory = first.memory;
    const second = new WasmKernels({ maxContextLen: 64, memory });
    // weights placed in the memory by one engine serve the other without a copy
    const w = first.allocateFloat32(4 * 8);
    w.set(random(32));
    const m = second.loadMatrix(f32Tensor(w, 4, 8));
    w[0] += 1; // a change to the shared weights shows in the next matmul: they were not copied
    const x = Float32Array.from({ length: 8 }, (_, i) => (i === 0 ? 1 : 0));
    const out = new Float32Array(4);
    await second.matmul(out, x, m, 1);
    assert.equal(out[0], w[0]);
    // each engine's own buffers do not overlap
    const a = first.allocateFloat32(1000);
    const b = second.allocateFloat32(1000);
    assert.ok(a.byteOffset + a.byteLength <= b.byteOffset || b.byteOffset + b.byteLength <= a.byteOffset);
  });
});

describe('quantized matmuls against the dequantized weights in f32', () => {
  /*
   * The only approximation a quantized matmul adds to "dequantize, then multiply in f32" is the
   * 8-bit quantization of the activations, per block of 32 (Q4_0, Q8_0) or 256 (K-quants): each
   * activation moves by at most 0.6 · amax/127 (half a step, plus the f16 rounding of a Q8_0
   * scale), so out[t, r] may differ by Σ |w[r, i]| · 0.6 · amax(block of i) / 127, and no more.
   */
  const wasm = new WasmKernels({ maxContextLen: 64 });
  after(() => wasm.dispose());
  for (const [name, cols] of [
    ['Q4_0', 160],
    ['Q4_1', 96],
    ['Q5_0', 160],
    ['Q5_1', 224],
    ['Q4_K', 512],
    ['Q5_K', 256],
    ['Q6_K', 512],
  ] as const) {
    it(`${name}: within the activation quantization bound`, async () => {
      const rows = 23;
      const n = 3;
      const w = randomBlocks(name, rows, cols);
      const values = dequantize(w.type, w.bytes, rows, cols);
      const x = random(n * cols, 2);
      const out = new Float32Array(n * rows);
      await wasm.matmul(out, x, wasm.loadMatrix(w), n);
      const block = QUANT_LAYOUT[name].values;
      for (let t = 0; t < n; t++) {
        for (let r = 0; r < rows; r++) {
          let exact = 0;
          let bound = 1e-5;
          for (let b = 0; b < cols; b += block) {
            let amax = 0;
            for (let i = b; i < b + block; i++) amax = Math.max(amax, Math.abs(x[t * cols + i]));
            for (let i = b; i < b + block; i++) {
              exact += values[r * cols + i] * x[t * cols + i];
              bound += (Math.abs(values[r * cols + i]) * 0.6 * amax) / 127;
            }
          }
          const diff = Math.abs(out[t * rows + r] - exact);
          assert.ok(diff <= bound, `${name} out[${t}, ${r}] = ${out[t * rows + r]}, exact ${exact}, bound ${bound}`);
        }
      }
    });
  }
});

describe('wasm kernels on a team of threads', () => {
  // each output row is computed by exactly one thread with the same code, so any split gives the same bits
  it('give the same bits as one thread, for every weight type and for attention, split three ways', async () => {
    const one = await createWasmKernels({ maxContextLen: 256, threads: 1 });
    const team = await createWasmKernels({ maxContextLen: 256, threads: 3, memory: one.memory });
    try {
      const tensors: [string, WeightTensor][] = [
        ['F32', tensorOf('F32', random(70 * 64), 70, 64)],
        ['F16', tensorOf('F16', random(70 * 64), 70, 64)],
        ['Q8_0', tensorOf('Q8_0', random(70 * 64), 70, 64)],
        ...(['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K'] as const).map((name): [string, WeightTensor] => [name, randomBlocks(name, 70, 256)]),
      ];
      for (const [name, w] of tensors) {
        for (const n of [1, 6]) {
          const x = random(n * w.cols);
          const a = new Float32Array(n * w.rows);
          const b = new Float32Array(n * w.rows);
          one.matmul(a, x, one.loadMatrix(w), n);
          team.matmul(b, x, team.loadMatrix(w), n);
          assert.deepEqual(b, a, `${name} matmul, batch ${n}`);
        }
      }
      const shape: AttentionShape = { numHeads: 8, numKvHeads: 4, headDim: 16, blockSize: 16, maxBlocksPerSeq: 8 };
      const kvDim = shape.numKvHeads * shape.headDim;
      const cache = one.createKvCache(1, 128, kvDim);
      cache.keys[0].set(randomHalf(128 * kvDim));
      cache.values[0].set(randomHalf(128 * kvDim));
      // two sequences, one decoding at position 40 and one prefilling positions 0..4
      const batch: AttentionBatch = {
        numTokens: 6,
        positions: Int32Array.of(40, 0, 1, 2, 3, 4),
        slotMapping: new Int32Array(6),
        tokenSeq: Int32Array.of(0, 1, 1, 1, 1, 1),
        blockTables: Int32Array.of(0, 1, 2, 3, 0, 0, 0, 0, 4, 5, 0, 0, 0, 0, 0, 0),
      };
      const q = random(6 * shape.numHeads * shape.headDim);
      const a = new Float32Array(q.length);
      const b = new Float32Array(q.length);
      one.attention(a, q, cache, 0, batch, shape);
      team.attention(b, q, cache, 0, batch, shape);
      assert.deepEqual(b, a, 'attention');
    } finally {
      team.dispose();
      one.dispose();
    }
  });
});
