import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createEngine } from '../../lib/engine/create-engine.js';
import { prepareEngine } from '../../lib/engine/resolve-config.js';
import { backendNamed } from '../../lib/backends/registry.js';
import { loadNativeAddon } from '../../lib/backends/native/native-addon.js';
import { weightsView } from '../../lib/models/load-weights.js';
import { architectureNamed } from '../../lib/models/registry.js';
import { CHECKPOINTS, checkpointFolder, QUANTIZED_CHECKPOINTS, quantizedCheckpointPath } from '../../tools/checkpoints.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { collect } from '../helpers/collect.js';
import { GREEDY_TOKENS, TOP_LOGITS } from '../../tools/golden-inputs.js';
import { readGolden, type ModelGolden } from '../helpers/goldens.js';

/**
 * How far a logit may be from llama.cpp's, as |Δ| / max(1, |logit|). Every conversion llama.cpp
 * makes (f16 KV cache, activations rounded to the weights' dot type, Q8_0 activations) is made
 * the same way, so logits agree to the order of f32 sums (its AVX kernels against our SIMD
 * ones): 1e-7 to 1e-5. Now and then that order puts a value on the other side of a rounding
 * boundary of the dot type, one ulp apart (2^-11 of f16, 2^-8 of bfloat16, 1/127 of a Q8_0
 * block's scale, 1/127 of the largest of 256 values for the K-quants' Q8_K), and the difference
 * carries into the later logits of that prompt: the bound per type allows that (measured: 1e-2 at
 * most for the K-quants, 7e-3 for Q4_0, on steps where every other logit agrees within 4e-7).
 * Q4_1 and Q5_1 flip more often: a block's offset term and its quants' term nearly cancel, which
 * magnifies the f32 summation-order differences that lead to a flip downstream. A systematic error would move every logit; so at least a quarter of them
 * must agree within 2e-6 (skipping the f16 rounding of activations, say, leaves under 3%).
 */
const MAX_LOGIT_DIFF: Record<string, number> = { F32: 1e-4, F16: 1e-3, BF16: 5e-3, Q8_0: 5e-3, Q4_0: 1e-2, Q4_1: 2e-2, Q4_K_M: 2e-2, Q5_K_M: 2e-2 };
const QUARTILE_DIFF = 2e-6;

const folder = checkpointFolder();
after(() => folder.remove());

/**
 * The greedy tokens equal llama.cpp's, step for step, up to the end or to a step where llama.cpp's
 * own top two were a tie within the logit tolerance (both picks are right there, and the
 * continuations part). A divergence anywhere else fails.
 */
function assertSameGreedy(actual: number[], steps: ModelGolden['prompts'][number]['steps'], tolerance: number, what: string): void {
  for (const [i, step] of steps.entries()) {
    if (actual[i] === step.token) continue;
    const best = step.top[0][1];
    const ours = step.top.find(([token]) => token === actual[i]);
    const gap = ours ? best - ours[1] : Infinity;
    assert.ok(gap <= 2 * tolerance * Math.max(1, Math.abs(best)), `${what}: step ${i} gave ${actual[i]}, llama.cpp ${step.token} by a margin of ${gap}`);
    return;
  }
  assert.equal(actual.length, steps.length, `${what}: ${actual.length} tokens`);
}

/** A checkpoint under test: how to get its file, and what proves it is the one the golden was written from. */
interface Subject {
  readonly name: string;
  readonly type: string;
  readonly file: () => string;
  readonly assertSource: (golden: ModelGolden & { sourceSha256?: string }) => void;
}

const SUBJECTS: Subject[] = [
  ...CHECKPOINTS.map((spec) => ({
    name: spec.name,
    type: spec.type as string,
    file: () => folder.build(spec.name).path,
    assertSource: (golden: ModelGolden) => assert.equal(folder.build(spec.name).sha256, golden.sha256, 'tools/checkpoints.ts changed: rerun node scripts/llama-cpp-goldens.js'),
  })),
  ...QUANTIZED_CHECKPOINTS.map((q) => ({
    name: q.name,
    type: q.quantization as string,
    file: () => quantizedCheckpointPath(q),
    assertSource: (golden: ModelGolden & { sourceSha256?: string }) => {
      assert.equal(createHash('sha256').update(readFileSync(quantizedCheckpointPath(q))).digest('hex'), golden.sha256, `${q.name}.gguf is not the file llama-quantize wrote`);
      assert.equal(folder.build(q.source).sha256, golden.sourceSha256, 'tools/checkpoints.ts changed: rerun node scripts/llama-cpp-goldens.js');
    },
  })),
];

/** The kernels each golden is checked on: wasm, and every SIMD path of the native kernels this CPU has. */
const KERNELS: { readonly kernels: 'wasm' | 'native'; readonly nativeIsa?: 'avx512-vnni' | 'avx2' }[] = [
  { kernels: 'wasm' },
  ...(loadNativeAddon().addon?.cpu().paths ?? []).map((nativeIsa) => ({ kernels: 'native' as const, nativeIsa })),
];

for (const spec of SUBJECTS) {
  for (const backend of KERNELS) {
  const on = backend.nativeIsa ? `native ${backend.nativeIsa}` : backend.kernels;
  describe(`${spec.name} against llama.cpp, on ${on}`, () => {
    const golden = readGolden<ModelGolden>(`model-${spec.name}.json`);

    it('is the checkpoint the goldens were written from', () => spec.assertSource(golden));

    // the quantized files also run on an engine of two (native: and three) threads: the same tokens,
    // whatever the split (where a near-tie parts from llama.cpp, every thread count parts the same
    // way: a split changes no bits)
    const threadCounts = QUANTIZED_CHECKPOINTS.some((q) => q.name === spec.name) ? (backend.kernels === 'native' ? [1, 2, 3] : [1, 2]) : [1];
    for (const threadsPerWorker of threadCounts) {
      it(`gives llama.cpp's ${GREEDY_TOKENS} greedy tokens for every prompt, and prompts tokenize alike (${threadsPerWorker} thread${threadsPerWorker > 1 ? 's' : ''})`, async () => {
        const engine = await createEngine({ model: spec.file(), ...backend, maxNumSeqs: 4, threadsPerWorker });
        try {
          for (const p of golden.prompts) {
            assert.deepEqual(engine.tokenizer.encode(p.text), p.promptIds, `prompt ${JSON.stringify(p.text)}`);
            const out = await collect(engine.generate(p.promptIds, { temperature: 0, maxTokens: GREEDY_TOKENS, ignoreEos: true }));
            assertSameGreedy(out.tokenIds, p.steps, MAX_LOGIT_DIFF[spec.type], `continuation of ${JSON.stringify(p.text)}`);
          }
        } finally {
          await engine.close();
        }
      });
    }

    it(`matches llama.cpp's top ${TOP_LOGITS} logits at every step (each within ${MAX_LOGIT_DIFF[spec.type]}, a quarter within ${QUARTILE_DIFF})`, async () => {
      const { config, weights } = await prepareEngine({ model: spec.file(), ...backend });
      const kernelBackend = backendNamed(config.kernels);
      const kernels = await kernelBackend.create({ maxContextLen: config.maxModelLen, threads: 1, memory: weights, ...(backend.nativeIsa ? { mode: backend.nativeIsa } : {}) });
      const architecture = architectureNamed(config.modelConfig.architecture);
      assert.ok(architecture);
      // one sequence whose KV cache is a single block as long as the context: slot = position
      const len = config.maxModelLen;
      const model = architecture.build(config.modelConfig, weightsView(weights, kernelBackend), kernels, { maxTokens: len, maxLogits: 1, kvCacheSlots: len, blockSize: len, maxBlocksPerSeq: 1, maxContextLen: len });
      const diffs: number[] = [];
      for (const p of golden.prompts) {
        // the prompt in one batch, then one token per step, as llama.cpp evaluated them
        let input = p.promptIds;
        let start = 0;
        for (const [step, expected] of p.steps.entries()) {
          const n = input.length;
          const logits = await model.forward({
            numTokens: n,
            tokenIds: Int32Array.from(input),
            positions: Int32Array.from(input, (_, i) => start + i),
            slotMapping: Int32Array.from(input, (_, i) => start + i),
            tokenSeq: new Int32Array(n),
            blockTables: new Int32Array(1),
            logitRows: Int32Array.of(n - 1),
            numLogits: 1,
          });
          for (const [token, logit] of expected.top) {
            const diff = Math.abs(logits[token] - logit) / Math.max(1, Math.abs(logit));
            diffs.push(diff);
            assert.ok(diff <= MAX_LOGIT_DIFF[spec.type], `step ${step} token ${token}: ${logits[token]} vs llama.cpp's ${logit}`);
          }
          start += n;
          input = [expected.token];
        }
      }
      kernels.dispose();
      diffs.sort((a, b) => a - b);
      const quartile = diffs[Math.floor((diffs.length - 1) / 4)];
      assert.ok(quartile <= QUARTILE_DIFF, `a quarter of the logits differ by ${quartile} or less, expected ${QUARTILE_DIFF}`);
    });
  });
}
}
