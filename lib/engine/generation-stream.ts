import { IncrementalDetokenizer } from '../tokenizer/detokenizer.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { AsyncQueue } from '../util/async-queue.js';
import type { EngineOutput } from './engine-output.js';
import type { TokenLogprobs } from '../decode/logprobs.js';
import type { LifecycleStamps } from './lifecycle.js';
import type { CancelReason, FinishReason } from './sequence.js';
import { StopStringMatcher } from './stop-strings.js';

/** How a stream asks its engine to end its request early. */
export type CancelRequest = (reason: CancelReason) => void;

/** One step's worth of a generation, as the caller of generate() sees it. */
export interface GenerationDelta {
  /** Token ids generated since the previous delta (usually one). */
  readonly tokenIds: readonly number[];
  /** Text those tokens completed; a character split across tokens arrives whole, later. */
  readonly text: string;
  /** Set on the last delta only. */
  readonly finishReason: FinishReason | null;
  /** When the request was queued, first scheduled, preempted and resumed, got its first token, and (on the last delta) finished. */
  readonly stamps?: Readonly<LifecycleStamps>;
  /** When the engine produced these tokens (monotonic ns). */
  readonly tsNs?: bigint;
  /** One entry per token in tokenIds, when the request asked for log probabilities. */
  readonly logprobs?: readonly TokenLogprobs[];
  /** Prompt positions from the second on, as the engine computed them, when asked for. */
  readonly promptLogprobs?: readonly TokenLogprobs[];
}

/** How the text of a request ends early. */
export interface StopOptions {
  readonly stop: readonly string[];
  /** Keep the stop string that ended the text. */
  readonly includeStopStrInOutput: boolean;
  /** Stop strings are not looked for before this many output tokens. */
  readonly minTokens: number;
}

const NO_STOPS: StopOptions = { stop: [], includeStopStrInOutput: false, minTokens: 0 };

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
  private readonly detokenizer: IncrementalDetokenizer;
  private readonly stops: StopStringMatcher | null;
  /** A stop string has matched; the engine has been asked to stop. */
  private stopped = false;
  private numOutputTokens = 0;
  /** Prompt log probabilities that arrived with no token yet, handed over with the next delta. */
  private pendingPromptLogprobs: TokenLogprobs[] = [];
  private readonly onAbort: () => void;
  private readonly cancelOnce: CancelRequest;

  constructor(
    readonly requestId: string,
    readonly numPromptTokens: number,
    tokenizer: Pick<Tokenizer, 'pieceBytes'>,
    cancel: CancelRequest,
    private readonly signal?: AbortSignal,
    readonly workerIndex?: number,
    private readonly stopOptions: StopOptions = NO_STOPS,
  ) {
    this.detokenizer = new IncrementalDetokenizer(tokenizer);
    let cancelled = false;
    this.cancelOnce = (reason) => {
      if (cancelled) return;
      cancelled = true;
      this.signal?.removeEventListener('abort', this.onAbort);
      cancel(reason);
    };
    const cancelOnce = () => this.cancelOnce('abort');
    this.stops = stopOptions.stop.length > 0 ? new StopStringMatcher(stopOptions.stop, stopOptions.includeStopStrInOutput) : null;
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

  /**
   * Feeds one engine output. `error` is raised to the caller after the final delta. When a stop
   * string matches, the text ends there and the engine is told to stop; the final delta (finish
   * reason "stop") comes once the engine has finished the sequence, so a caller that sees it knows
   * the engine no longer holds the request.
   */
  deliver(out: EngineOutput, error?: Error): void {
    if (this.queue.isEnded) return;
    const { newTokenIds: tokenIds, finishReason, stamps, tsNs } = out;
    if (out.promptLogprobs) this.pendingPromptLogprobs.push(...out.promptLogprobs);
    const final = finishReason !== null;
    this.numOutputTokens += tokenIds.length;
    let text = this.detokenizer.push(tokenIds);
    if (final) text += this.detokenizer.finish();
    if (this.stopped) text = ''; // generated past a stop string: counted, not shown
    else if (this.stops && this.numOutputTokens >= this.stopOptions.minTokens) {
      const seen = this.stops.push(text, final);
      text = seen.text;
      if (seen.stopped) {
        this.stopped = true;
        if (!final) this.cancelOnce('stop');
      }
    }
    const extra = {
      ...(tsNs === undefined ? {} : { tsNs }),
      ...(stamps ? { stamps } : {}),
      ...(out.logprobs ? { logprobs: out.logprobs } : {}),
      ...(this.pendingPromptLogprobs.length > 0 && (tokenIds.length > 0 || final) ? { promptLogprobs: this.pendingPromptLogprobs.splice(0) } : {}),
    };
    if (!final) {
      if (tokenIds.length > 0) this.queue.push({ tokenIds, text, finishReason: null, ...extra });
      return;
    }
    this.signal?.removeEventListener('abort', this.onAbort);
    if (error && !this.stopped) {
      if (tokenIds.length > 0 || text) this.queue.push({ tokenIds, text, finishReason: null, ...extra });
      this.queue.fail(error);
      return;
    }
    this.queue.push({ tokenIds, text, finishReason: this.stopped ? 'stop' : finishReason, ...extra });
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
