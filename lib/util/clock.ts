/**
 * Every clock the server reads, in one place. The monotonic clock (`process.hrtime.bigint()`,
 * `performance.now()`) is the same on every thread of the process, so stamps taken in an engine
 * worker compare directly with stamps taken on the API thread; wall time is read only for what
 * the outside world sees (a response's `created`, span start times, journey times).
 */

/** Monotonic nanoseconds: lifecycle stamps and latencies. */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

/** Monotonic milliseconds, as a float: timers and rates that need no nanoseconds. */
export function monotonicMs(): number {
  return performance.now();
}

/** Milliseconds from `startNs` to `endNs` (default: now) on the monotonic clock. */
export function msSince(startNs: bigint, endNs: bigint = monotonicNs()): number {
  return Number(endNs - startNs) / 1e6;
}

/** Wall time in epoch milliseconds, with sub-millisecond resolution that keeps its monotonic steps: span times. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Wall time in whole epoch seconds: OpenAI's `created` fields. */
export function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Wall time in epoch milliseconds. */
export function wallMs(): number {
  return Date.now();
}

export function nsToSeconds(ns: bigint): number {
  return Number(ns) / 1e9;
}
