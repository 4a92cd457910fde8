/**
 * How close the whole request path comes to the bare HTTP layer: autocannon drives
 * POST /v1/completions with max_tokens 1 at several connection counts, and the same load against a
 * bare Koa endpoint returning a fixed JSON body, each server in its own process on this machine.
 * Reports requests/s and latency percentiles of both, and their ratio. One JSON line.
 *
 *   npm run bench:http -- [--model dummy-tiny] [--connections 1,8,32,64] [--duration 5] [--server-args "..."]
 *
 * About 45 s with the defaults (a progress line per run on stderr). The smallest model is the default so that the HTTP layer and the engine plumbing, not the
 * model's arithmetic, are what is measured; autocannon shares the machine with the servers.
 */
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { machine, round } from './bench-util.js';
import { ServerProcess } from './serve/server-process.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'dummy-tiny' },
    connections: { type: 'string', default: '1,8,32,64' },
    duration: { type: 'string', default: '5' },
    'server-args': { type: 'string', default: '' },
  },
});
const connectionCounts = values.connections.split(',').map(Number);
const duration = Number(values.duration);

async function startBare(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [new URL('./bare-koa.js', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  return {
    url: chunk.toString().trim(),
    stop: async () => {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function load(url: string, connections: number, body: string) {
  const result = await autocannon({
    url: `${url}/v1/completions`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration,
  });
  return {
    requestsPerSecond: round(result.requests.average, 1),
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99 },
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

const server = await ServerProcess.start(['--model', values.model, ...values['server-args'].split(' ').filter(Boolean)]);
const bare = await startBare();
try {
  const body = JSON.stringify({ model: values.model, prompt: 'Hello', max_tokens: 1 });
  await load(server.url, 8, body); // warm-up
  const rows = [];
  for (const connections of connectionCounts) {
    process.stderr.write(`bench:http: ${connections} connections…\n`);
    const bareResult = await load(bare.url, connections, body);
    const serverResult = await load(server.url, connections, body);
    rows.push({ connections, bareKoa: bareResult, server: serverResult, ratio: round(serverResult.requestsPerSecond / bareResult.requestsPerSecond, 3) });
  }
  console.log(JSON.stringify({ bench: 'http', model: values.model, server: server.info, durationSeconds: duration, rows, ...machine() }));
} finally {
  await Promise.all([server.stop(), bare.stop()]);
}
