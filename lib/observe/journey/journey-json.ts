import type { Journey } from './journey-store.js';
import { choiceTimings, toMicroseconds } from './timings.js';

/**
 * The JSON a journey is served as: stamps as milliseconds after its arrival, and each choice's
 * timings. `wallMs` dates the arrival (the store's pairing of the monotonic and wall clocks).
 */
export function journeyJson(j: Journey, wallMs: (ns: bigint) => number): object {
  const t = (ns: bigint | null) => (ns === null ? null : Math.round(Number(ns - j.arrivedNs) / 1e3) / 1e3);
  const apiEvents = [
    { name: 'api.ARRIVED', t_ms: 0 },
    ...(j.handoffNs !== null ? [{ name: 'api.HANDOFF_TO_CORE', t_ms: t(j.handoffNs) }] : []),
    ...(j.firstResponseNs !== null ? [{ name: 'api.FIRST_RESPONSE_FROM_CORE', t_ms: t(j.firstResponseNs) }] : []),
    ...(j.endNs !== null ? [j.state === 'aborted' ? { name: 'api.ABORTED', t_ms: t(j.endNs), reason: j.abortReason } : { name: 'api.DEPARTED', t_ms: t(j.endNs) }] : []),
  ];
  return {
    id: j.requestId,
    object: 'journey',
    route: j.route,
    operation: j.operation,
    state: j.state,
    abort_reason: j.abortReason,
    trace_id: j.traceId,
    arrived_at: Math.round(wallMs(j.arrivedNs) * 1000) / 1000,
    prompt_tokens: j.promptTokens,
    completion_tokens: j.completionTokens,
    n: j.n,
    stream: j.stream,
    ttft_ms: t(j.firstResponseNs),
    e2e_ms: t(j.endNs),
    events: apiEvents,
    choices: [...j.choices.values()]
      .sort((a, b) => a.index - b.index)
      .map((c) => {
        const timings = choiceTimings(j.arrivedNs, c);
        const s = c.stamps;
        const events = s
          ? [
              { name: 'journey.QUEUED', t_ms: t(s.queuedNs) },
              ...(s.scheduledNs !== null ? [{ name: 'journey.SCHEDULED', t_ms: t(s.scheduledNs), kind: 'FIRST' }] : []),
              ...(s.firstTokenNs !== null ? [{ name: 'journey.FIRST_TOKEN', t_ms: t(s.firstTokenNs) }] : []),
              ...s.preemptions.flatMap((p) => [{ name: 'journey.PREEMPTED', t_ms: t(p.preemptedNs) }, ...(p.resumedNs !== null ? [{ name: 'journey.SCHEDULED', t_ms: t(p.resumedNs), kind: 'RESUME' }] : [])]),
              ...(s.finishedNs !== null ? [{ name: 'journey.FINISHED', t_ms: t(s.finishedNs) }] : []),
            ].sort((a, b) => (a.t_ms ?? 0) - (b.t_ms ?? 0))
          : [];
        return {
          index: c.index,
          finish_reason: c.finishReason,
          completion_tokens: c.completionTokens,
          timings: {
            queue_ms: toMicroseconds(timings.queueMs),
            prefill_ms: toMicroseconds(timings.prefillMs),
            decode_ms: toMicroseconds(timings.decodeMs),
            ttft_ms: toMicroseconds(timings.ttftMs),
            generation_ms: toMicroseconds(timings.generationMs),
            mean_itl_ms: toMicroseconds(timings.meanItlMs),
            tokens_per_second: toMicroseconds(timings.tokensPerSecond),
            num_preemptions: timings.numPreemptions,
            preempted_ms: toMicroseconds(timings.preemptedMs),
          },
          events,
        };
      }),
  };
}
