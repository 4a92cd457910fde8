import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeSpecOf, resolveSamplingParams, type SamplingParamsInput } from '../../lib/engine/sampling-params.js';
import { ByteWriter } from '../../lib/transport/byte-codec.js';
import { decodeAbort, decodeAddRequest, decodeOutput, encodeAbort, encodeAddRequest, encodeOutput } from '../../lib/transport/records.js';

const w = new ByteWriter();
/** A request's decode spec, as the front end submits it (its stop strings stay on the API thread). */
const spec = (input: SamplingParamsInput, vocab?: number) => decodeSpecOf(resolveSamplingParams(input, vocab));

describe('records', () => {
  it('round-trips an add-request with every optional field set', () => {
    const record = {
      key: 0xffff_fff0,
      request: {
        requestId: 'chatcmpl-ü🦙',
        promptTokenIds: Array.from({ length: 5000 }, (_, i) => i % 262),
        // stop strings stay on the API thread, so they are not part of the record
        params: spec({ temperature: 0.7, topP: 0.9, topK: 40, seed: -12345678901, maxTokens: 77, stopTokenIds: [1, 257], ignoreEos: true }),
        trace: { carrier: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'vendor=x' }, choiceIndex: 3 },
      },
    };
    assert.deepEqual(decodeAddRequest(encodeAddRequest(w, record).slice()), record);
  });

  it('round-trips an untraced add-request with no seed and no max tokens', () => {
    const record = { key: 1, request: { requestId: 'r', promptTokenIds: [256], params: spec({}) } };
    const rich = spec({ presencePenalty: 0.5, frequencyPenalty: -1, repetitionPenalty: 1.25, minP: 0.125, minTokens: 3, logitBias: [[4, -2.5]], logprobs: 5, promptLogprobs: 0 }, 300);
    const withEverything = { key: 2, request: { requestId: 'r2', promptTokenIds: [1, 2], params: rich } };
    assert.deepEqual(decodeAddRequest(encodeAddRequest(w, withEverything).slice()), withEverything);
    assert.deepEqual(decodeAddRequest(encodeAddRequest(w, record).slice()), record);
  });

  it('round-trips outputs with each finish reason and any set of stamps', () => {
    for (const finishReason of [null, 'stop', 'length', 'abort', 'error'] as const) {
      const record = {
        key: 42,
        newTokenIds: finishReason ? [] : [65, 66],
        finishReason,
        error: finishReason === 'error' ? 'kernel failed: ä' : null,
        stamps: {
          queuedNs: 123456789012345n,
          scheduledNs: finishReason ? 2n : null,
          firstTokenNs: null,
          finishedNs: finishReason ? 4n : null,
          preemptions: finishReason ? [{ preemptedNs: 3n, resumedNs: 3n }, { preemptedNs: 4n, resumedNs: null }] : [],
        },
        tsNs: 987654321n,
        ...(finishReason === 'length' ? { logprobs: [{ tokenId: 65, logprob: -0.5, top: [{ tokenId: 65, logprob: -0.5 }, { tokenId: 7, logprob: -2 }] }] } : {}),
        ...(finishReason === 'stop' ? { promptLogprobs: [{ tokenId: 1, logprob: -1.25, top: [] }] } : {}),
      };
      assert.deepEqual(decodeOutput(encodeOutput(w, record).slice()), record);
    }
  });

  it('round-trips aborts', () => {
    assert.deepEqual(decodeAbort(encodeAbort(w, 4_000_000_000, 'abort').slice()), { key: 4_000_000_000, reason: 'abort' });
    assert.deepEqual(decodeAbort(encodeAbort(w, 7, 'stop').slice()), { key: 7, reason: 'stop' });
  });

  it('round-trips a traced add-request whose carrier could not be injected', () => {
    const record = { key: 9, request: { requestId: 'r', promptTokenIds: [256, 1], params: spec({}), trace: { carrier: null, choiceIndex: 0 } } };
    assert.deepEqual(decodeAddRequest(encodeAddRequest(w, record).slice()), record);
  });
});
