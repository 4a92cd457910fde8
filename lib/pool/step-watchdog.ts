/** What the watchdog needs to know of one worker at a look. */
export interface WatchedWorker {
  readonly index: number;
  /** Requests the worker holds: with none, it has no reason to step. */
  readonly numInFlight: number;
  /** The worker's step counter, which moves after every engine step. */
  readonly step: number;
  /** Which life of the worker this is; a replacement starts a fresh watch. */
  readonly incarnation: number;
}

interface Watch {
  step: number;
  incarnation: number;
  sinceMs: number;
}

/**
 * Tells which workers hold requests and have not finished an engine step for `timeoutMs`: a
 * worker stuck in a step (a kernel that never returns, a deadlock) would otherwise hold its
 * requests forever, each looking merely slow. vLLM bounds the same wait with
 * VLLM_ENGINE_ITERATION_TIMEOUT_S (60 s by default). A worker that holds nothing is not watched.
 */
export class StepWatchdog {
  private readonly watches = new Map<number, Watch>();

  constructor(readonly timeoutMs: number) {}

  /** The workers that have been stuck for longer than the timeout, as of `nowMs`, with how long. */
  stuck(workers: readonly WatchedWorker[], nowMs: number): { index: number; stuckMs: number }[] {
    const found: { index: number; stuckMs: number }[] = [];
    for (const w of workers) {
      const watch = this.watches.get(w.index);
      if (!watch || w.numInFlight === 0 || watch.step !== w.step || watch.incarnation !== w.incarnation) {
        this.watches.set(w.index, { step: w.step, incarnation: w.incarnation, sinceMs: nowMs });
        continue;
      }
      const stuckMs = nowMs - watch.sinceMs;
      if (stuckMs > this.timeoutMs) {
        found.push({ index: w.index, stuckMs });
        watch.sinceMs = nowMs; // reported once per timeout, not at every look
      }
    }
    return found;
  }
}
