/**
 * The process-wide monotonic clock. `process.hrtime.bigint()` reads the same clock on every
 * thread of the process, so stamps taken in an engine worker compare directly with stamps taken
 * on the API thread.
 */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

export function nsToSeconds(ns: bigint): number {
  return Number(ns) / 1e9;
}
