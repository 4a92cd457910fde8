import type { IncomingHttpHeaders } from 'node:http';
import type { LifecycleStamps } from '../../engine/lifecycle.js';
import type { FinishReason } from '../../engine/sequence.js';
import { NOOP_LIFECYCLE, type AbortReason, type ChoiceEvent, type GenerationRoutePath, type RequestInfo, type RequestLifecycle, type RequestObserver, type RequestOutcome } from '../request-observer.js';
import { choiceTimings, msBetween, toMicroseconds, type ChoiceRecord } from './timings.js';

/** One request's journey as the API thread saw it: its api.* stamps, and each choice's engine stamps. */
export interface Journey {
  readonly requestId: string;
  readonly route: GenerationRoutePath;
  readonly operation: string;
  readonly arrivedNs: bigint;
  state: 'in_progress' | 'departed' | 'aborted';
  abortReason: AbortReason | null;
  traceId: string | null;
  promptTokens: number;
  completionTokens: number;
  n: number;
  stream: boolean;
  handoffNs: bigint | null;
  firstResponseNs: bigint | null;
  endNs: bigint | null;
  readonly choices: Map<number, JourneyChoice>;
}

interface JourneyChoice extends ChoiceRecord {
  firstReceivedNs: bigint | null;
  completionTokens: number;
  stamps: Readonly<LifecycleStamps> | null;
  finishReason: FinishReason | null;
}

export interface JourneyFilter {
  readonly limit: number;
  /** A choice's finish reason, or the request's abort reason. */
  readonly finishReason?: string;
  readonly minTtftMs?: number;
  readonly minE2eMs?: number;
  /** Only journeys that arrived after this wall-clock time (Unix ms), for a viewer that refreshes. */
  readonly sinceMs?: number;
}

/**
 * The last `capacity` journeys, kept on the API thread whatever tracing sampled, without any
 * prompt or completion text: a ring of finished journeys (the oldest forgotten first) and the
 * ones in flight. Memory is bounded by the capacity and by the requests in flight; each journey
 * holds a few dozen numbers per choice. A capacity of 0 records nothing.
 */
export class JourneyStore implements RequestObserver {
  private readonly ring: (Journey | undefined)[];
  private next = 0;
  private readonly byId = new Map<string, Journey>();
  private readonly inFlight = new Map<Journey, true>();
  /** One pairing of the monotonic clock with the wall clock, to give each journey a date. */
  private readonly epoch = { wallMs: Date.now(), ns: process.hrtime.bigint() };

  constructor(readonly capacity: number) {
    this.ring = new Array<Journey | undefined>(capacity);
  }

  get size(): number {
    return this.byId.size;
  }

  begin(route: GenerationRoutePath, operation: string, requestId: string, _headers: IncomingHttpHeaders, arrivedNs: bigint): RequestLifecycle {
    if (this.capacity === 0) return NOOP_LIFECYCLE;
    const journey: Journey = {
      requestId,
      route,
      operation,
      arrivedNs,
      state: 'in_progress',
      abortReason: null,
      traceId: null,
      promptTokens: 0,
      completionTokens: 0,
      n: 1,
      stream: false,
      handoffNs: null,
      firstResponseNs: null,
      endNs: null,
      choices: new Map(),
    };
    this.inFlight.set(journey, true);
    return new JourneyLifecycle(journey, (j) => this.finished(j));
  }

  /** The journey of request `id` (finished or in flight), if it is still kept. */
  get(id: string): Journey | undefined {
    return this.byId.get(id) ?? [...this.inFlight.keys()].find((j) => j.requestId === id);
  }

  /** Journeys newest first (those in flight before the finished ones), filtered. */
  list(filter: JourneyFilter): Journey[] {
    const out: Journey[] = [];
    const consider = (j: Journey | undefined) => {
      if (j && out.length < filter.limit && this.matches(j, filter)) out.push(j);
    };
    for (const j of [...this.inFlight.keys()].reverse()) consider(j);
    for (let i = 1; i <= this.capacity && out.length < filter.limit; i++) consider(this.ring[(this.next - i + this.capacity) % this.capacity]);
    return out;
  }

  /** When `ns` on the monotonic clock was, in Unix ms. */
  wallMs(ns: bigint): number {
    return this.epoch.wallMs + Number(ns - this.epoch.ns) / 1e6;
  }

  private matches(j: Journey, f: JourneyFilter): boolean {
    if (f.sinceMs !== undefined && this.wallMs(j.arrivedNs) <= f.sinceMs) return false;
    if (f.finishReason !== undefined && j.abortReason !== f.finishReason && ![...j.choices.values()].some((c) => c.finishReason === f.finishReason)) return false;
    if (f.minTtftMs !== undefined && (msBetween(j.arrivedNs, j.firstResponseNs) ?? -1) < f.minTtftMs) return false;
    if (f.minE2eMs !== undefined && (msBetween(j.arrivedNs, j.endNs) ?? -1) < f.minE2eMs) return false;
    return true;
  }

  private finished(j: Journey): void {
    this.inFlight.delete(j);
    if (this.capacity === 0) return;
    const evicted = this.ring[this.next];
    if (evicted && this.byId.get(evicted.requestId) === evicted) this.byId.delete(evicted.requestId);
    this.ring[this.next] = j;
    this.next = (this.next + 1) % this.capacity;
    this.byId.set(j.requestId, j);
  }

  /** The JSON a journey is served as: stamps as milliseconds after its arrival, and each choice's timings. */
  toJson(j: Journey): object {
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
      arrived_at: Math.round(this.wallMs(j.arrivedNs) * 1000) / 1000,
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
              queue_ms: micro(timings.queueMs),
              prefill_ms: micro(timings.prefillMs),
              decode_ms: micro(timings.decodeMs),
              ttft_ms: micro(timings.ttftMs),
              generation_ms: micro(timings.generationMs),
              mean_itl_ms: micro(timings.meanItlMs),
              tokens_per_second: micro(timings.tokensPerSecond),
              num_preemptions: timings.numPreemptions,
              preempted_ms: micro(timings.preemptedMs),
            },
            events,
          };
        }),
    };
  }
}

const micro = toMicroseconds;

class JourneyLifecycle implements RequestLifecycle {
  private ended = false;

  constructor(
    private readonly j: Journey,
    private readonly onEnd: (j: Journey) => void,
  ) {}

  described(info: RequestInfo): void {
    this.j.promptTokens = info.promptTokens ?? 0;
    this.j.n = info.n ?? 1;
    this.j.stream = info.stream ?? false;
    this.j.traceId = info.traceId ?? null;
  }

  traceFor() {
    return undefined;
  }

  handedOff(committedNs: bigint): void {
    this.j.handoffNs = committedNs;
  }

  firstResponse(atNs: bigint): void {
    this.j.firstResponseNs ??= atNs;
  }

  choiceEvent(e: ChoiceEvent): void {
    let c = this.j.choices.get(e.index);
    if (!c) {
      c = { index: e.index, firstReceivedNs: e.receivedNs ?? null, completionTokens: 0, stamps: null, finishReason: null };
      this.j.choices.set(e.index, c);
    }
    c.completionTokens += e.tokenIds.length;
    this.j.completionTokens += e.tokenIds.length;
    if (e.stamps) c.stamps = e.stamps;
    if (e.finishReason !== null) c.finishReason = e.finishReason;
  }

  departed(_outcome: RequestOutcome, atNs: bigint): void {
    this.end('departed', null, atNs);
  }

  aborted(reason: AbortReason, _error: unknown, _outcome: RequestOutcome | null, atNs: bigint): void {
    this.end('aborted', reason, atNs);
  }

  logFields() {
    return {};
  }

  private end(state: 'departed' | 'aborted', reason: AbortReason | null, atNs: bigint): void {
    if (this.ended) return;
    this.ended = true;
    this.j.state = state;
    this.j.abortReason = reason;
    this.j.endNs = atNs;
    this.onEnd(this.j);
  }
}
