import type { IncomingHttpHeaders } from 'node:http';
import type { LifecycleStamps } from '../../engine/lifecycle.js';
import type { FinishReason } from '../../engine/sequence.js';
import { NOOP_LIFECYCLE, type AbortReason, type ChoiceEvent, type GenerationRoutePath, type RequestInfo, type RequestLifecycle, type RequestObserver, type RequestOutcome } from '../request-observer.js';
import { msBetween, type ChoiceRecord } from './timings.js';
import { monotonicNs, wallMs } from '../../util/clock.js';

/** One request's journey as the API thread saw it: its api.* stamps, and each choice's engine stamps. */
export interface Journey {
  /** The server's own number for the request, in order of arrival (request ids may repeat). */
  readonly seq: number;
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

export interface JourneyChoice extends ChoiceRecord {
  firstReceivedNs: bigint | null;
  completionTokens: number;
  stamps: Readonly<LifecycleStamps> | null;
  finishReason: FinishReason | null;
}

export interface JourneyFilter {
  /** A choice's finish reason, or the request's abort reason. */
  readonly finishReason?: string;
  readonly minTtftMs?: number;
  readonly minE2eMs?: number;
  /** Only journeys that arrived after this wall-clock time (Unix ms), for a viewer that refreshes. */
  readonly sinceMs?: number;
  /** Only journeys that arrived before the one numbered this (a page's cursor). */
  readonly beforeSeq?: number;
}

export interface JourneyStoreLimits {
  /** Finished journeys kept at most; 0 keeps none. */
  readonly capacity: number;
  /** Estimated heap bytes the finished journeys may hold; the oldest are forgotten past it. */
  readonly maxBytes: number;
}

/**
 * Estimated heap bytes of a finished journey: measured with `npm run bench:tracing`
 * (--expose-gc, 1,000 journeys kept after a full GC) for one choice, and per extra choice and
 * preemption. An estimate is enough: it only decides when the oldest journeys are forgotten.
 */
const JOURNEY_BYTES = 900;
const CHOICE_BYTES = 240;
const PREEMPTION_BYTES = 90;

export function estimatedJourneyBytes(j: Journey): number {
  let preemptions = 0;
  for (const c of j.choices.values()) preemptions += c.stamps?.preemptions.length ?? 0;
  return JOURNEY_BYTES + CHOICE_BYTES * Math.max(0, j.choices.size - 1) + PREEMPTION_BYTES * preemptions;
}

/**
 * The last journeys, kept on the API thread whatever tracing sampled, without any prompt or
 * completion text: those in flight, and the finished ones up to `capacity` journeys and
 * `maxBytes` estimated bytes (a request with many choices weighs as much as many requests), the
 * oldest finished forgotten first. In-flight journeys are bounded by the requests the server
 * holds. A capacity of 0 records nothing.
 */
export class JourneyStore implements RequestObserver {
  /** Every kept journey in order of arrival; null where one was forgotten (compacted now and then). */
  private order: (Journey | null)[] = [];
  private readonly slotOf = new Map<Journey, number>();
  private holes = 0;
  /** Finished journeys in the order they finished: the oldest is forgotten first. */
  private finishedQueue: Journey[] = [];
  private finishedHead = 0;
  private finishedBytes = 0;
  private readonly bytesOf = new WeakMap<Journey, number>();
  /** The newest journey of each request id. */
  private readonly byId = new Map<string, Journey>();
  private nextSeq = 1;
  /** One pairing of the monotonic clock with the wall clock, to give each journey a date. */
  private readonly epoch = { wallMs: wallMs(), ns: monotonicNs() };

  constructor(readonly limits: JourneyStoreLimits) {}

  get capacity(): number {
    return this.limits.capacity;
  }

  /** Journeys kept, in flight and finished. */
  get size(): number {
    return this.slotOf.size;
  }

  /** Estimated heap bytes of the finished journeys kept. */
  get bytes(): number {
    return this.finishedBytes;
  }

  begin(route: GenerationRoutePath, operation: string, requestId: string, _headers: IncomingHttpHeaders, arrivedNs: bigint): RequestLifecycle {
    if (this.limits.capacity === 0) return NOOP_LIFECYCLE;
    const journey: Journey = {
      seq: this.nextSeq++,
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
    this.slotOf.set(journey, this.order.length);
    this.order.push(journey);
    this.byId.set(requestId, journey);
    return new JourneyLifecycle(journey, (j) => this.finished(j));
  }

  /** The newest journey of request `id` (finished or in flight), if it is still kept. */
  get(id: string): Journey | undefined {
    return this.byId.get(id);
  }

  /** Matching journeys, newest arrival first; the caller stops when its page is full. */
  *list(filter: JourneyFilter = {}): Generator<Journey> {
    for (let i = this.order.length - 1; i >= 0; i--) {
      const j = this.order[i];
      if (j && this.matches(j, filter)) yield j;
    }
  }

  /** When `ns` on the monotonic clock was, in Unix ms. */
  wallMs(ns: bigint): number {
    return this.epoch.wallMs + Number(ns - this.epoch.ns) / 1e6;
  }

  private matches(j: Journey, f: JourneyFilter): boolean {
    if (f.beforeSeq !== undefined && j.seq >= f.beforeSeq) return false;
    if (f.sinceMs !== undefined && this.wallMs(j.arrivedNs) <= f.sinceMs) return false;
    if (f.finishReason !== undefined && j.abortReason !== f.finishReason && ![...j.choices.values()].some((c) => c.finishReason === f.finishReason)) return false;
    if (f.minTtftMs !== undefined && (msBetween(j.arrivedNs, j.firstResponseNs) ?? -1) < f.minTtftMs) return false;
    if (f.minE2eMs !== undefined && (msBetween(j.arrivedNs, j.endNs) ?? -1) < f.minE2eMs) return false;
    return true;
  }

  private finished(j: Journey): void {
    const bytes = estimatedJourneyBytes(j);
    this.bytesOf.set(j, bytes);
    this.finishedQueue.push(j);
    this.finishedBytes += bytes;
    // the newest finished journey is always kept, however large
    while (this.numFinished > this.limits.capacity || (this.finishedBytes > this.limits.maxBytes && this.numFinished > 1)) this.forgetOldestFinished();
  }

  private get numFinished(): number {
    return this.finishedQueue.length - this.finishedHead;
  }

  private forgetOldestFinished(): void {
    const j = this.finishedQueue[this.finishedHead++];
    if (this.finishedHead > 1024 && this.finishedHead * 2 > this.finishedQueue.length) {
      this.finishedQueue = this.finishedQueue.slice(this.finishedHead);
      this.finishedHead = 0;
    }
    this.finishedBytes -= this.bytesOf.get(j) ?? 0;
    if (this.byId.get(j.requestId) === j) this.byId.delete(j.requestId);
    const slot = this.slotOf.get(j) as number;
    this.slotOf.delete(j);
    this.order[slot] = null;
    if (++this.holes > 1024 && this.holes * 2 > this.order.length) this.compact();
  }

  private compact(): void {
    this.order = this.order.filter((j): j is Journey => j !== null);
    this.order.forEach((j, slot) => this.slotOf.set(j as Journey, slot));
    this.holes = 0;
  }
}

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
