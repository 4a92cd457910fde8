import type { ServerResponse } from 'node:http';

/**
 * Ends a response whose client has stopped reading. A write that finds the socket's buffer full
 * arms a timer; the socket draining disarms it; if it fires, `onStall` runs and the connection
 * is destroyed, so a stalled reader holds neither its connection nor, through its request, the
 * engine's KV blocks and the output buffered for it. timeoutMs 0: never.
 */
export class StallGuard {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly timeoutMs: number,
    private readonly onStall: () => void,
  ) {
    res.on('drain', this.disarm);
    res.once('finish', this.disarm);
    res.once('close', this.dispose);
  }

  /** Call after a write or end() that left bytes waiting in the socket's buffer. */
  blocked(): void {
    if (this.timeoutMs <= 0 || this.timer !== undefined || this.res.destroyed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onStall();
      this.res.destroy();
    }, this.timeoutMs);
  }

  private readonly disarm = () => {
    clearTimeout(this.timer);
    this.timer = undefined;
  };

  private readonly dispose = () => {
    this.disarm();
    this.res.off('drain', this.disarm);
    this.res.off('finish', this.disarm);
  };
}
