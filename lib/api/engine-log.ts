import type { Engine } from '../engine/engine.js';
import type { Logger } from '../util/logger.js';
import { monotonicMs } from '../util/clock.js';

/**
 * Every `intervalMs` while the engine is busy, one info line with what vLLM's periodic line
 * shows: requests running and waiting, KV cache use, and prompt and generation throughput over
 * the interval. Quiet while idle. Returns a function that stops it.
 */
export function startEngineLog(engine: Engine, totals: () => { readonly prompt: number; readonly generation: number }, logger: Logger, intervalMs: number): () => void {
  let last = { ...totals(), at: monotonicMs(), preemptions: engine.stats().numPreemptions };
  const timer = setInterval(() => {
    const stats = engine.stats();
    const now = { ...totals(), at: monotonicMs(), preemptions: stats.numPreemptions };
    const seconds = (now.at - last.at) / 1000;
    const busy = stats.numRunning + stats.numWaiting > 0 || now.prompt !== last.prompt || now.generation !== last.generation;
    if (busy) {
      logger.info('engine', {
        running: stats.numRunning,
        waiting: stats.numWaiting,
        kvCacheUsagePercent: Math.round(stats.kvCacheUsage * 1000) / 10,
        promptTokensPerSecond: Math.round(((now.prompt - last.prompt) / seconds) * 10) / 10,
        generationTokensPerSecond: Math.round(((now.generation - last.generation) / seconds) * 10) / 10,
        preemptions: now.preemptions - last.preemptions,
      });
    }
    last = now;
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
