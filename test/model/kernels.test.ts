import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { GpuJsKernels } from '../../lib/model/kernels/gpujs.js';
import { WasmKernels } from '../../lib/model/kernels/wasm.js';
import type { AttentionBatch, AttentionShape, Kernels } from '../../lib/model/kernels/kernels.js';
import { ReferenceKernels } from '../../lib/model/kernels/reference.js';
import { MODEL_PRESETS } from '../../lib/model/model-config.js';
import { Rng } from '../../lib/util/rng.js';
import { assertClose } from '../helpers/close.js';

const rng = new Rng(1234);
const random = (n: number, scale = 1) => {
  const a = new Float32Array(n);
  rng.fillUniform(a, scale);
  return a;
};

const reference = new ReferenceKernels();
const gpujsBackends = [new GpuJsKernels({ mode: 'cpu', maxContextLen: 2048 }), new GpuJsKernels({ mode: 'webasm', maxContextLen: 2048 })];
const backends: Kernels[] = [new WasmKernels({ maxContextLen: 2048 }), ...gpujsBackends];
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
    const hd = c.dim / c.numHeads;
    for (const s of [
      [(c.numHeads + 2 * c.numKvHeads) * hd, c.dim],
      [c.dim, c.dim],
      [2 * c.hiddenDim, c.dim],
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
          await compare(backend, 'matmul', n * rows, (k, out) => k.matmul(out, x, k.loadMatrix(w, rows, cols), n));
        });
      }
    }

    it('rmsNorm', async () => {
      for (const dim of [64, 512, 173]) {
        const x = random(5 * dim, 3);
        const weight = random(dim);
        await compare(backend, `rmsNorm dim ${dim}`, 5 * dim, (k, out) => k.rmsNorm(out, x, weight, 5, dim, 1e-5));
      }
    });

    it('rope, at positions up to the longest context', async () => {
      const positions = Int32Array.from([0, 1, 17, 1000, 2047]);
      for (const [numHeads, headDim] of [
        [4, 16],
        [8, 64],
      ]) {
        const x = random(positions.length * numHeads * headDim);
        await compare(backend, `rope ${numHeads}×${headDim}`, x.length, (k, out) => {
          out.set(x);
          return k.rope(out, positions, positions.length, numHeads, headDim, 10000);
        });
      }
    });

    it('siluMul, softmax and addInPlace', async () => {
      const gateUp = random(3 * 2 * 174, 4);
      await compare(backend, 'siluMul', 3 * 174, (k, out) => k.siluMul(out, gateUp, 3, 174));
      const logits = random(4 * 262, 8);
      const invTemperature = Float32Array.from([1, 2, 0.5, 1 / 0.7]);
      await compare(backend, 'softmax', 4 * 262, (k, out) => k.softmax(out, logits, invTemperature, 4, 262));
      const y = random(100);
      await compare(backend, 'addInPlace', 100, (k, out) => {
        out.fill(0.5);
        return k.addInPlace(out, y, 100);
      });
    });

    it('storeKv writes each row to its slot', async () => {
      const kvDim = 8;
      const k = random(3 * kvDim);
      const v = random(3 * kvDim);
      const slots = Int32Array.from([5, 0, 9]);
      const cache = backend.createKvCache(2, 10, kvDim);
      await backend.storeKv(cache, 1, k, v, slots, 3);
      assert.deepEqual(cache.keys[1].subarray(9 * kvDim, 10 * kvDim), k.subarray(2 * kvDim));
      assert.deepEqual(cache.values[1].subarray(0, kvDim), v.subarray(kvDim, 2 * kvDim));
      assert.ok(cache.keys[0].every((x) => x === 0));
    });

    for (const { label, contextLens, chunk, shape } of [
      { label: 'decode, mixed lengths, grouped heads', contextLens: [1, 5, 40], chunk: 1, shape: { numHeads: 4, numKvHeads: 2, headDim: 16 } },
      { label: 'chunked prefill', contextLens: [37, 12], chunk: 9, shape: { numHeads: 8, numKvHeads: 4, headDim: 64 } },
      // longer than gpu.js's default loop limit of 1000: a truncated loop fails here
      { label: 'a 1,900-token context', contextLens: [1900, 3], chunk: 1, shape: { numHeads: 4, numKvHeads: 2, headDim: 16 } },
    ]) {
      it(`attention: ${label}`, async () => {
        const blockSize = 16;
        const maxBlocksPerSeq = 128;
        const { batch, numSlots } = attentionBatch(contextLens, chunk, blockSize, maxBlocksPerSeq);
        const full: AttentionShape = { ...shape, blockSize, maxBlocksPerSeq };
        const kvDim = shape.numKvHeads * shape.headDim;
        const keys = random(numSlots * kvDim);
        const values = random(numSlots * kvDim);
        const q = random(batch.numTokens * shape.numHeads * shape.headDim, 2);
        await compare(backend, 'attention', q.length, (k, out) => {
          const cache = k.createKvCache(1, numSlots, kvDim);
          (cache.keys[0] as Float32Array).set(keys);
          (cache.values[0] as Float32Array).set(values);
          return k.attention(out, q, cache, 0, batch, full);
        });
      });
    }

    it('treats a batch of zero rows as nothing to do', async () => {
      const out = new Float32Array(4).fill(7);
      await backend.matmul(out, new Float32Array(0), backend.loadMatrix(random(8), 2, 4), 0);
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
      const keys = random(numSlots * kvDim);
      const values = random(numSlots * kvDim);
      const q = random(4 * 16, 2);
      await assert.rejects(
        compare(truncated, 'attention', q.length, (k, out) => {
          const cache = k.createKvCache(1, numSlots, kvDim);
          (cache.keys[0] as Float32Array).set(keys);
          (cache.values[0] as Float32Array).set(values);
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
    const m = k.loadMatrix(w, rows, cols);
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
    const m = second.loadMatrix(w, 4, 8);
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
