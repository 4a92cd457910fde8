import type { ServerResponse } from 'node:http';

/**
 * Server-sent events over a raw response, with backpressure: send() waits for the socket to
 * drain when its buffer is full, and gives up (returns false) once the client has gone (a client
 * that stops reading is closed by the ConnectionGuard).
 */
export class SseWriter {
  private gone = false;

  constructor(private readonly res: ServerResponse) {
    res.once('close', () => (this.gone = true));
  }

  get isClosed(): boolean {
    return this.gone || this.res.destroyed;
  }

  open(headers: Record<string, string> = {}): void {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      ...headers,
    });
    this.res.flushHeaders();
  }

  /** Writes `data: <json>` (or a literal such as [DONE]), named `event` when given; false if the client has gone. */
  async send(data: unknown, event?: string): Promise<boolean> {
    if (this.isClosed) return false;
    const line = `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
    if (this.res.write(line)) return true;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.once('drain', done);
      this.res.once('close', done);
    });
    return !this.isClosed;
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }
}
