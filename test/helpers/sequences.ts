import { resolveSamplingParams, type SamplingParamsInput } from '../../lib/engine/sampling-params.js';
import { Sequence } from '../../lib/engine/sequence.js';

let nextId = 1;

/** A sequence with `numPromptTokens` distinct prompt tokens (or the given ids). */
export function makeSequence(prompt: number | readonly number[], params: SamplingParamsInput = {}, maxModelLen = 1 << 20): Sequence {
  const ids = typeof prompt === 'number' ? Array.from({ length: prompt }, (_, i) => (i * 7 + nextId) % 250) : prompt;
  const seqId = nextId++;
  return new Sequence(seqId, `req-${seqId}`, ids, resolveSamplingParams({ temperature: 0, ...params }), maxModelLen, seqId);
}
