import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * A client that, every few seconds, opens a connection, pipelines journey listings and never
 * reads a byte of the answers. The server must close each one (the pipelining cap, or the stall
 * timeout): after the stall timeout and a margin the connection is read once, and counts as
 * closed if the server had ended it with fewer answers than were asked for.
 */
export class NonReaders {
  readonly outcomes = new Map<'closed' | 'still_open', number>();

  constructor(
    private readonly baseUrl: string,
    private readonly stallSeconds: number,
  ) {}

  async run(everySeconds: number, until: () => boolean): Promise<void> {
    const checks: Promise<void>[] = [];
    while (until()) {
      checks.push(this.once());
      await delay(everySeconds * 1000);
    }
    await Promise.all(checks);
  }

  private async once(): Promise<void> {
    const url = new URL(this.baseUrl);
    const socket = net.connect(Number(url.port), url.hostname);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.pause();
    socket.write(`GET /v1/journeys?limit=1000 HTTP/1.1\r\nhost: ${url.host}\r\n\r\n`.repeat(32));
    await delay((this.stallSeconds + 5) * 1000);
    let answers = 0;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answers += (chunk.match(/HTTP\/1\.1 /g) ?? []).length));
    socket.resume();
    const ended = await Promise.race([closed.then(() => true), delay(5000).then(() => false)]);
    socket.destroy();
    const outcome = ended && answers < 32 ? 'closed' : 'still_open';
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }
}
