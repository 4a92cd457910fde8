import { IncrementalDetokenizer } from '../tokenizer/detokenizer.js';
import { AsyncQueue } from '../util/async-queue.js';
import type { LifecycleStamps } from './lifecycle.js';
import type { FinishReason } from './sequence.js';
import { StopStringMatcher } from './stop-strings.js';

/** How a stream asks its engine to end its request early. */
export type CancelRequest = (reason: 'abort' | 'stop') => void;

/** One step's worth of a generation, as the caller of generate() sees it. */
export interface GenerationDelta {
  /** Token ids generated since the previous delta (usually one). */
  readonly tokenIds: readonly number[];
  /** Text those tokens completed; a character split across tokens arrives whole, later. */
  readonly text: string;
  /** Set on the last delta only. */
  readonly finishReason: FinishReason | null;
  /** On the last delta: when the request was queued, first scheduled, got its first token and finished. */
  readonly stamps?: Readonly<LifecycleStamps>;
}

/** The async iterable generate() returns. Stop iterating (or abort the signal) to cancel. */
export interface GenerationStream extends AsyncIterable<GenerationDelta> {
  readonly requestId: string;
  readonly numPromptTokens: number;
  /** The engine worker serving the request, when the engine runs in a worker pool. */
  readonly workerIndex?: number;
}

/**
 * The caller's side of one request: detokenizes engine outputs into deltas, applies stop
 * strings, and ends the iteration on finish, on error, or on the caller's abort signal,
 * cancelling the request in the engine whenever the caller stops first.
 */
export class RequestStream implements GenerationStream {
  private readonly queue: AsyncQueue<GenerationDelta>;
  private readonly detokenizer = new IncrementalDetokenizer();
  private readonly stops: StopStringMatcher | null;
  private readonly onAbort: () => void;
  private readonly cancelOnce: CancelRequest;

  constructor(
    readonly requestId: string,
    readonly numPromptTokens: number,
    cancel: CancelRequest,
    private readonly signal?: AbortSignal,
    readonly workerIndex?: number,
    stop: readonly string[] = [],
  ) {
    let cancelled = false;
    this.cancelOnce = (reason) => {
      if (cancelled) return;
      cancelled = true;
      this.signal?.removeEventListener('abort', this.onAbort);
      cancel(reason);
    };
    const cancelOnce = () => this.cancelOnce('abort');
    this.stops = stop.length > 0 ? new StopStringMatcher(stop) : null;
    this.queue = new AsyncQueue(cancelOnce);
    this.onAbort = () => {
      this.queue.fail(this.signal?.reason);
      cancelOnce();
    };
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get isEnded(): boolean {
    return this.queue.isEnded;
  }

  /** Feeds one engine output. `error` is raised to the caller after the final delta. */
  deliver(tokenIds: readonly number[], finishReason: FinishReason | null, stamps?: Readonly<LifecycleStamps>, error?: Error): void {
    if (this.queue.isEnded) return;
    let text = this.detokenizer.push(tokenIds);
    if (finishReason !== null) text += this.detokenizer.finish();
    if (this.stops) {
      const seen = this.stops.push(text, finishReason !== null);
      text = seen.text;
      if (seen.stopped && !error) {
        // the engine may still be generating: end the stream here and have it stop as "stop"
        this.queue.push({ tokenIds, text, finishReason: 'stop', ...(stamps ? { stamps } : {}) });
        this.queue.close();
        this.cancelOnce('stop');
        return;
      }
    }
    if (finishReason === null) {
      if (tokenIds.length > 0) this.queue.push({ tokenIds, text, finishReason });
      return;
    }
    this.signal?.removeEventListener('abort', this.onAbort);
    if (error) {
      if (tokenIds.length > 0 || text) this.queue.push({ tokenIds, text, finishReason: null });
      this.queue.fail(error);
      return;
    }
    this.queue.push({ tokenIds, text, finishReason, ...(stamps ? { stamps } : {}) });
    this.queue.close();
  }

  /** Ends the iteration with `error` (the engine died, shut down, or refused the request). */
  fail(error: Error): void {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.queue.fail(error);
  }

  [Symbol.asyncIterator](): AsyncIterator<GenerationDelta> {
    return this.queue;
  }
}
