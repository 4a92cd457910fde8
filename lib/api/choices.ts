import { setMaxListeners } from 'node:events';
import type { Engine } from '../engine/engine.js';
import type { GenerationStream } from '../engine/generation-stream.js';
import type { SamplingParamsInput } from '../engine/sampling-params.js';
import type { TraceOptions } from '../engine/trace-options.js';
import type { ChoiceEvent } from '../observe/request-observer.js';
import { AsyncQueue } from '../util/async-queue.js';
import { deriveSeed } from '../util/rng.js';
import { monotonicNs } from '../util/clock.js';

/** One completion the request asked for: choice `index` of prompt `promptIndex`. */
export interface ChoiceSpec {
  readonly index: number;
  readonly promptIndex: number;
  readonly promptTokenIds: readonly number[];
  readonly params: SamplingParamsInput;
  readonly trace?: TraceOptions;
}

/**
 * The i-th of n choices samples from its own seed, derived from the request's, so that choices
 * differ and yet the whole request is reproducible; choice 0 uses the request's seed itself.
 */
export function choiceParams(params: SamplingParamsInput, choice: number): SamplingParamsInput {
  if (params.seed === undefined || params.seed === null || choice === 0) return params;
  return { ...params, seed: deriveSeed(params.seed, choice) };
}

/**
 * The engine requests behind one HTTP request, started together and read as one stream of
 * events tagged with their choice index. If one cannot start, those already started are
 * cancelled before the error is thrown; if one fails, the others are cancelled too.
 */
export class ChoiceStreams {
  private readonly cancelAll = new AbortController();
  private readonly streams: { index: number; stream: GenerationStream }[] = [];
  private firstCommitNs = 0n;

  constructor(engine: Engine, specs: readonly ChoiceSpec[], requestId: string, signal: AbortSignal) {
    const combined = AbortSignal.any([signal, this.cancelAll.signal]);
    // every choice listens to it: n choices are n listeners, not a leak
    setMaxListeners(specs.length + 10, combined);
    const stampCommit = () => {
      if (this.firstCommitNs === 0n) this.firstCommitNs = monotonicNs();
    };
    try {
      for (const spec of specs) {
        const options = { signal: combined, requestId, onCommitted: stampCommit, ...(spec.trace ? { trace: spec.trace } : {}) };
        this.streams.push({ index: spec.index, stream: engine.generate(spec.promptTokenIds, spec.params, options) });
      }
    } catch (err) {
      this.cancel();
      throw err;
    }
  }

  /** When the first engine request was committed to its queue (monotonic ns). */
  get committedNs(): bigint {
    return this.firstCommitNs;
  }

  /** Cancels every choice still running; their streams end with an AbortError. */
  cancel(): void {
    this.cancelAll.abort();
  }

  /** Every choice's deltas as they arrive; ends once all have finished, or fails with the first error. */
  events(): AsyncIterable<ChoiceEvent> {
    const queue = new AsyncQueue<ChoiceEvent>(() => this.cancel());
    let open = this.streams.length;
    for (const { index, stream } of this.streams) {
      void (async () => {
        try {
          for await (const delta of stream) {
            queue.push({
              index,
              text: delta.text,
              tokenIds: delta.tokenIds,
              finishReason: delta.finishReason,
              ...(delta.tsNs !== undefined ? { tsNs: delta.tsNs } : {}),
              ...(delta.stamps ? { stamps: delta.stamps } : {}),
              ...(delta.logprobs ? { logprobs: delta.logprobs } : {}),
              ...(delta.promptLogprobs ? { promptLogprobs: delta.promptLogprobs } : {}),
            });
          }
          if (--open === 0) queue.close();
        } catch (err) {
          queue.fail(err);
          this.cancel();
        }
      })();
    }
    return queue;
  }
}
