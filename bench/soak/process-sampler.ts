import { readdir, readFile, readlink } from 'node:fs/promises';
import { metricSum } from '../../tools/metrics.js';

export interface ProcessSample {
  /** Seconds since the run started. */
  readonly atSeconds: number;
  readonly rssMiB: number;
  /** The API thread's V8 heap in use (worker threads have their own heaps, inside RSS only). */
  readonly heapUsedMiB: number;
  readonly openSockets: number;
  /** The server's own event-loop delay, p99 over prom-client's window. */
  readonly eventLoopDelayP99Ms: number;
  readonly openSpans: number;
  readonly kvCacheUsage: number;
  readonly running: number;
}

/** One look at a server process: its memory and sockets from /proc (Linux), the rest from /metrics. */
export async function sampleProcess(pid: number, baseUrl: string, atSeconds: number): Promise<ProcessSample> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  let openSockets = 0;
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (target.startsWith('socket:')) openSockets++;
  }
  const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
  return {
    atSeconds,
    rssMiB: rssKiB / 1024,
    heapUsedMiB: metricSum(metrics, 'nodejs_heap_size_used_bytes') / (1 << 20),
    openSockets,
    eventLoopDelayP99Ms: metricSum(metrics, 'nodejs_eventloop_lag_p99_seconds') * 1000,
    openSpans: metricSum(metrics, 'journey_tracing_open_spans'),
    kvCacheUsage: metricSum(metrics, 'journey_kv_cache_usage_ratio'),
    running: metricSum(metrics, 'journey_num_requests_running') + metricSum(metrics, 'journey_num_requests_waiting'),
  };
}
