/** Shared helpers of the bench scripts: timing, and the machine a figure came from. */
import os from 'node:os';

/** Calls `fn` until `minMs` have passed (at least `minReps` times) after one warm-up call; ms per call. */
export async function timePerCall(fn: () => unknown, minMs = 200, minReps = 3): Promise<number> {
  await fn();
  let reps = 0;
  const start = performance.now();
  while (reps < minReps || performance.now() - start < minMs) {
    await fn();
    reps++;
  }
  return (performance.now() - start) / reps;
}

export function machine(): { cpus: number; cpu: string; node: string } {
  return { cpus: os.availableParallelism(), cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version };
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Parses "a:b" as an inclusive integer range, or "a" as [a, a]. */
export function parseRange(text: string, name: string): [number, number] {
  const [lo, hi = lo] = text.split(':').map(Number);
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi < lo) throw new RangeError(`${name} must be N or LO:HI, got "${text}"`);
  return [lo, hi];
}
