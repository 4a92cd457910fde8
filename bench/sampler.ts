/**
 * What sampling one token costs on the engine thread at a real vocabulary size (Qwen's 151,936),
 * per configuration, next to a full sort of the vocabulary (what a per-token JS sort would
 * cost). Logits are drawn from a peaked distribution (a trained model's) and a flat one (random
 * weights), since the filters' cost depends on how many tokens share the boundary. The softmax
 * (a wasm kernel) is not included. One JSON line per row.
 *
 *   npm run bench:sampler -- [--vocab 151936]        (about 5 s)
 */
import { parseArgs } from 'node:util';
import { applyLogitsProcessors, defaultLogitsProcessors } from '../lib/decode/pipeline.js';
import { logprobsOf, logSumExp } from '../lib/decode/logprobs.js';
import { Sampler } from '../lib/decode/sampler.js';
import { resolveSamplingParams, type SamplingParamsInput } from '../lib/engine/sampling-params.js';
import { Sequence } from '../lib/engine/sequence.js';
import { Rng } from '../lib/util/rng.js';
import { machine, round, timePerCall } from './bench-util.js';

const { values } = parseArgs({ options: { vocab: { type: 'string', default: '151936' } } });
const vocab = Number(values.vocab);

function logitsOf(spread: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  // Box-Muller normal logits; a spread of 3 leaves a few hundred tokens with most of the mass
  return Float32Array.from({ length: vocab }, () => spread * Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat()));
}

function softmax(logits: Float32Array): Float32Array {
  const lse = logSumExp(logits);
  return Float32Array.from(logits, (l) => Math.exp(l - lse));
}

const CONFIGS: [string, SamplingParamsInput][] = [
  ['greedy', { temperature: 0 }],
  ['temperature only', { temperature: 0.8 }],
  ['top_p 0.9', { temperature: 0.8, topP: 0.9 }],
  ['top_k 50', { temperature: 0.8, topK: 50 }],
  ['top_k 50 + top_p 0.9 + min_p 0.05', { temperature: 0.8, topK: 50, topP: 0.9, minP: 0.05 }],
  ['top_p 0.9 + penalties', { temperature: 0.8, topP: 0.9, presencePenalty: 0.5, frequencyPenalty: 0.5, repetitionPenalty: 1.1 }],
  ['greedy + logprobs 5', { temperature: 0, logprobs: 5 }],
];

const sampler = new Sampler(vocab);
const processors = defaultLogitsProcessors([0]);
const order = new Int32Array(vocab);

for (const [distribution, spread] of [['peaked', 3], ['flat', 0.1]] as const) {
  const logits = logitsOf(spread, 1);
  const probs = softmax(logits);
  // a full sort of the vocabulary by probability, as a per-token JS sort would do
  const sortUs = (await timePerCall(() => {
    for (let i = 0; i < vocab; i++) order[i] = i;
    order.sort((a, b) => probs[b] - probs[a] || a - b);
  })) * 1000;
  for (const [name, input] of CONFIGS) {
    const params = resolveSamplingParams(input, vocab);
    // a sequence 200 tokens into its output, for the penalties to have something to count
    const seq = new Sequence(1, 'bench', Array.from({ length: 100 }, (_, i) => i * 7), params, 4096, 1);
    for (let i = 0; i < 200; i++) seq.tokenIds.push((i * 131) % vocab);
    const rng = new Rng(3);
    const row = new Float32Array(vocab);
    const us =
      (await timePerCall(() => {
        row.set(logits);
        if (params.logprobs !== null) logprobsOf(row, logSumExp(row), 0, params.logprobs);
        applyLogitsProcessors(processors, row, seq);
        sampler.sample(row, probs, params, rng);
      })) * 1000;
    process.stdout.write(`${JSON.stringify({ bench: 'sampler', vocab, distribution, config: name, usPerToken: round(us, 1), fullSortUs: round(sortUs, 1), ratioToFullSort: round(us / sortUs, 3), machine: machine() })}\n`);
  }
}
