import { Rng } from '../../lib/util/rng.js';
import { streamCompletion, type RequestResult } from './stream-client.js';
import type { WorkItem } from './workload.js';

export interface LoadOptions {
  readonly url: string;
  readonly model: string;
  /** Requests per second, with Poisson arrivals; Infinity sends them all at once. */
  readonly requestRate: number;
  /** Most requests in flight at once; Infinity for no limit. */
  readonly maxConcurrency: number;
  readonly seed: number;
  readonly onDone?: (result: RequestResult) => void;
}

/**
 * Sends the workload: arrivals spaced by exponential gaps for a Poisson process of
 * `requestRate` (the way the Python servers' `bench serve` does it), never more than
 * `maxConcurrency` at once. Resolves with every result and the run's duration in seconds.
 */
export async function runLoad(workload: readonly WorkItem[], o: LoadOptions): Promise<{ results: RequestResult[]; durationS: number }> {
  const rng = new Rng(o.seed);
  const results: RequestResult[] = [];
  let inFlight = 0;
  let slotFreed: (() => void) | null = null;
  const start = performance.now();
  let due = 0;
  const pending: Promise<void>[] = [];
  for (const item of workload) {
    if (Number.isFinite(o.requestRate)) {
      due += (-Math.log(1 - rng.nextFloat()) / o.requestRate) * 1000;
      const wait = start + due - performance.now();
      // arrivals are scheduled in time: a timer is the clock of a load generator, not a synchronisation
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    while (inFlight >= o.maxConcurrency) await new Promise<void>((resolve) => (slotFreed = resolve));
    inFlight++;
    pending.push(
      streamCompletion(`${o.url}/v1/completions`, { model: o.model, prompt: item.prompt, max_tokens: item.maxTokens, ignore_eos: true, temperature: 0 }).then((r) => {
        results.push(r);
        inFlight--;
        o.onDone?.(r);
        const wake = slotFreed;
        slotFreed = null;
        wake?.();
      }),
    );
  }
  await Promise.all(pending);
  return { results, durationS: (performance.now() - start) / 1000 };
}
