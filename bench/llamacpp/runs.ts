import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { ServerProcess } from '../serve/server-process.js';

/*
 * Each system measured the same way: its batched benchmark (llama.cpp's llama-batched-bench, and
 * journey-llm's bench/batched.js, which measures as llama-batched-bench does) in a child process,
 * and its HTTP server (llama-server --parallel, and node lib/server.js) started on a free port.
 */
const run = promisify(execFile);

/** Prompt and decode tok/s for npl parallel sequences of npp prompt tokens and ntg generated ones. */
export interface BatchedRow {
  readonly npp: number;
  readonly npl: number;
  readonly pp: number;
  readonly tg: number;
}

export async function llamaCppBatched(bin: string, model: string, threads: number, npp: number, ntg: number, npls: readonly number[]): Promise<BatchedRow[]> {
  const ctx = Math.max(...npls) * (npp + ntg) + 64;
  const args = ['-m', model, '-c', String(ctx), '-b', '2048', '-ub', '512', '-npp', String(npp), '-ntg', String(ntg), '-npl', npls.join(','), '-t', String(threads), '-tb', String(threads), '--output-format', 'jsonl'];
  const { stdout } = await run(path.join(bin, 'llama-batched-bench'), args, { maxBuffer: 1 << 24 });
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { pp: number; pl: number; speed_pp: number; speed_tg: number })
    .map((r) => ({ npp: r.pp, npl: r.pl, pp: r.speed_pp, tg: r.speed_tg }));
}

export async function journeyBatched(model: string, threads: number, npp: number, ntg: number, npls: readonly number[], kernels = 'auto'): Promise<BatchedRow[]> {
  const script = new URL('../batched.js', import.meta.url).pathname;
  const args = [script, '--model', model, '--npp', String(npp), '--ntg', String(ntg), '--npl', npls.join(','), '--threads-per-worker', String(threads), '--max-num-batched-tokens', '512', '--kernels', kernels];
  const { stdout } = await run(process.execPath, args, { maxBuffer: 1 << 24 });
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { npp: number; npl: number; ppTokensPerSecond: number; tgTokensPerSecond: number })
    .map((r) => ({ npp: r.npp, npl: r.npl, pp: r.ppTokensPerSecond, tg: r.tgTokensPerSecond }));
}

/** A server under load: where it answers, and how to stop it. */
export interface RunningServer {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startJourneyServer(model: string, threads: number, parallel: number, contextLen: number, kernels = 'auto'): Promise<RunningServer> {
  const server = await ServerProcess.start([
    '--model', model, '--kernels', kernels, '--workers', '1', '--threads-per-worker', String(threads), '--max-num-seqs', String(parallel),
    '--max-model-len', String(contextLen), '--max-num-batched-tokens', '512', '--disable-log-stats',
  ]);
  return { url: server.url, stop: () => server.stop() };
}

/** llama-server with `parallel` slots of `contextLen` tokens each, once its /health answers 200. */
export async function startLlamaServer(bin: string, model: string, threads: number, parallel: number, contextLen: number): Promise<RunningServer> {
  const port = await freePort();
  const args = ['-m', model, '--host', '127.0.0.1', '--port', String(port), '-t', String(threads), '-tb', String(threads), '--parallel', String(parallel), '-c', String(parallel * contextLen), '-b', '2048', '-ub', '512', '--no-webui'];
  const child: ChildProcess = spawn(path.join(bin, 'llama-server'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const exited = once(child, 'exit').then(() => {
    throw new Error(`llama-server exited before it was ready:\n${log}`);
  });
  // polled: the server says nothing a client can wait on before /health turns 200
  for (;;) {
    const ready = await Promise.race([
      fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      ),
      exited,
    ]);
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = once(child, 'exit');
      child.kill('SIGTERM');
      await gone;
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
