import type { LifecycleStamps } from '../../engine/lifecycle.js';

/** What the API thread knows of one choice, enough to say where its time went. */
export interface ChoiceRecord {
  readonly index: number;
  /** When its first output reached the API thread (monotonic ns); null if none did. */
  readonly firstReceivedNs: bigint | null;
  readonly completionTokens: number;
  /** The engine's stamps, complete once the choice finished; null if none arrived. */
  readonly stamps: Readonly<LifecycleStamps> | null;
}

/**
 * Where one choice's time went, in milliseconds, as docs/journey-tracing.md §7 defines it: queue is
 * api.ARRIVED → SCHEDULED (FIRST); prefill is SCHEDULED (FIRST) → FIRST_TOKEN, preempted time
 * inside it included; decode is FIRST_TOKEN → FINISHED. A part is null when its stamps are
 * missing (the choice never got there).
 */
export interface ChoiceTimings {
  readonly queueMs: number | null;
  readonly prefillMs: number | null;
  readonly decodeMs: number | null;
  /** api.ARRIVED → this choice's first output on the API thread: the time to first token the client sees. */
  readonly ttftMs: number | null;
  /** SCHEDULED (FIRST) → FINISHED: the choice's time in the engine, prefill and decode. */
  readonly generationMs: number | null;
  /** decode / (completion tokens − 1): the mean time between tokens; null below two tokens. */
  readonly meanItlMs: number | null;
  /** completion tokens / generation time. */
  readonly tokensPerSecond: number | null;
  readonly numPreemptions: number;
  /** Time spent preempted (PREEMPTED → SCHEDULED (RESUME)), within prefill or decode. */
  readonly preemptedMs: number;
}

/** Milliseconds rounded to the microsecond, as every timing the server reports. */
export const toMicroseconds = (v: number | null): number | null => (v === null ? null : Math.round(v * 1000) / 1000);

export const msBetween = (from: bigint | null, to: bigint | null): number | null => (from === null || to === null ? null : Number(to - from) / 1e6);

export function choiceTimings(arrivedNs: bigint, c: ChoiceRecord): ChoiceTimings {
  const s = c.stamps;
  const generationMs = msBetween(s?.scheduledNs ?? null, s?.finishedNs ?? null);
  const decodeMs = msBetween(s?.firstTokenNs ?? null, s?.finishedNs ?? null);
  let preemptedMs = 0;
  for (const p of s?.preemptions ?? []) preemptedMs += msBetween(p.preemptedNs, p.resumedNs ?? s?.finishedNs ?? null) ?? 0;
  return {
    queueMs: msBetween(arrivedNs, s?.scheduledNs ?? null),
    prefillMs: msBetween(s?.scheduledNs ?? null, s?.firstTokenNs ?? null),
    decodeMs,
    ttftMs: msBetween(arrivedNs, c.firstReceivedNs),
    generationMs,
    meanItlMs: decodeMs !== null && c.completionTokens > 1 ? decodeMs / (c.completionTokens - 1) : null,
    tokensPerSecond: generationMs !== null && generationMs > 0 ? c.completionTokens / (generationMs / 1000) : null,
    numPreemptions: s?.preemptions.length ?? 0,
    preemptedMs,
  };
}

/** The choice that finished last (the one a request-level figure shows), or the first one if none finished. */
export function slowestChoice<T extends ChoiceRecord>(choices: readonly T[]): T | undefined {
  let slowest: T | undefined;
  for (const c of choices) {
    const end = c.stamps?.finishedNs ?? null;
    const best = slowest?.stamps?.finishedNs ?? null;
    if (!slowest || (end !== null && (best === null || end > best))) slowest = c;
  }
  return slowest;
}

/** The W3C Server-Timing header value for a response: the slowest choice's parts and the total. */
export function serverTiming(t: ChoiceTimings | null, totalMs: number): string {
  const part = (name: string, ms: number | null) => (ms === null ? [] : [`${name};dur=${toMicroseconds(ms)}`]);
  return [...part('queue', t?.queueMs ?? null), ...part('prefill', t?.prefillMs ?? null), ...part('decode', t?.decodeMs ?? null), ...part('total', totalMs), `preemptions;desc="${t?.numPreemptions ?? 0}"`].join(', ');
}

/** The per-request `metrics` object, with vLLM's field names where vLLM has one. */
export function metricsObject(t: ChoiceTimings, completionTokens: number, e2eMs: number | null): Record<string, number | null> {
  const round = toMicroseconds;
  return {
    time_to_first_token_ms: round(t.ttftMs),
    queue_time_ms: round(t.queueMs),
    prefill_time_ms: round(t.prefillMs),
    decode_time_ms: round(t.decodeMs),
    generation_time_ms: round(t.generationMs),
    mean_itl_ms: round(t.meanItlMs),
    tokens_per_second: round(t.tokensPerSecond),
    num_preemptions: t.numPreemptions,
    preempted_time_ms: round(t.preemptedMs),
    completion_tokens: completionTokens,
    e2e_ms: round(e2eMs),
  };
}
