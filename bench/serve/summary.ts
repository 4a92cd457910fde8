import type { RequestResult } from './stream-client.js';

export interface Distribution {
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

export interface Targets {
  /** A request meets the targets when its TTFT and TPOT are at most these (ms). */
  readonly ttftMs?: number;
  readonly tpotMs?: number;
}

export interface ServeSummary {
  readonly completed: number;
  readonly failed: number;
  readonly durationS: number;
  readonly requestThroughput: number;
  readonly outputTokenThroughput: number;
  readonly totalTokenThroughput: number;
  readonly ttftMs: Distribution;
  readonly tpotMs: Distribution;
  readonly itlMs: Distribution;
  readonly e2eMs: Distribution;
  /** Requests per second that met the targets (absent without targets). */
  readonly goodput?: number;
  readonly firstError?: string;
}

/** Linear-interpolated percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const at = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / (sorted.length || NaN);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { mean: r(mean), p50: r(percentile(sorted, 50)), p90: r(percentile(sorted, 90)), p99: r(percentile(sorted, 99)) };
}

/** TPOT of one request: time after the first token over the tokens after it. */
export function tpotOf(r: RequestResult): number | null {
  return r.outputTokens > 1 ? (r.e2eMs - r.ttftMs) / (r.outputTokens - 1) : null;
}

/** The serving metrics of a run, the way the field reports them. */
export function summarize(results: readonly RequestResult[], durationS: number, targets: Targets = {}): ServeSummary {
  const ok = results.filter((r) => r.ok);
  const outputTokens = ok.reduce((s, r) => s + r.outputTokens, 0);
  const promptTokens = ok.reduce((s, r) => s + r.promptTokens, 0);
  const tpots = ok.map(tpotOf).filter((x): x is number => x !== null);
  const hasTargets = targets.ttftMs !== undefined || targets.tpotMs !== undefined;
  const good = ok.filter((r) => (targets.ttftMs === undefined || r.ttftMs <= targets.ttftMs) && (targets.tpotMs === undefined || (tpotOf(r) ?? 0) <= targets.tpotMs));
  const firstError = results.find((r) => !r.ok)?.error;
  return {
    completed: ok.length,
    failed: results.length - ok.length,
    durationS: Math.round(durationS * 1000) / 1000,
    requestThroughput: ok.length / durationS,
    outputTokenThroughput: outputTokens / durationS,
    totalTokenThroughput: (outputTokens + promptTokens) / durationS,
    ttftMs: distribution(ok.map((r) => r.ttftMs)),
    tpotMs: distribution(tpots),
    itlMs: distribution(ok.flatMap((r) => r.itlMs)),
    e2eMs: distribution(ok.map((r) => r.e2eMs)),
    ...(hasTargets ? { goodput: good.length / durationS } : {}),
    ...(firstError ? { firstError } : {}),
  };
}
