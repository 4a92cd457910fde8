import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** A `node lib/server.js` child process, started on a free port. */
export class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly info: Record<string, unknown>,
  ) {}

  /** Starts the server with `args` and resolves once it logs that it listens. */
  static async start(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ServerProcess> {
    const entry = new URL('../../lib/server.js', import.meta.url).pathname;
    const child = spawn(process.execPath, [entry, '--port', '0', '--log-level', 'info', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
    let log = '';
    const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        log += chunk;
        const line = log.split('\n').find((l) => l.includes('journey-llm listening'));
        if (line) resolve(JSON.parse(line));
      });
      child.once('exit', (code) => reject(new Error(`the server exited with ${code} before listening:\n${log}`)));
    });
    child.stderr?.removeAllListeners('data');
    child.stderr?.resume();
    return new ServerProcess(child, String(info.url), info);
  }

  /** The server's process id, to sample its memory and sockets. */
  get pid(): number {
    return this.child.pid as number;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }
}
