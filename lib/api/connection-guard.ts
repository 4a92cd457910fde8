import type http from 'node:http';
import type { Socket } from 'node:net';
import { monotonicMs } from '../util/clock.js';

/** Why the guard closed a connection. */
export type GuardReason = 'stalled' | 'pipelined';

export interface ConnectionGuardLimits {
  /** A connection with bytes waiting that the client reads none of for this long is closed; 0 = never. */
  readonly stallMs: number;
  /** Requests one connection may have unanswered at once (HTTP pipelining) before it is closed. */
  readonly maxPipelined: number;
}

/** What a connection had waiting when last looked at. */
interface Watch {
  bytesWritten: number;
  /** monotonicMs() of the last progress, or of when bytes started waiting. */
  since: number;
}

/**
 * Bounds what one connection can make the server hold, on every route. A client that stops
 * reading leaves its responses in the socket's buffer; the guard looks at every connection a
 * few times per stall period and closes one whose buffer has held bytes without the client
 * taking any of them for `stallMs`, after telling whoever registered for it (a generation
 * request ends as a client disconnect, and frees its KV blocks). A client that pipelines more
 * than `maxPipelined` requests without reading the answers is closed as the next one arrives:
 * Node answers pipelined requests in order, so their responses would otherwise all be built
 * and queued in memory.
 */
export class ConnectionGuard {
  private readonly watched = new Map<Socket, Watch>();
  private readonly unanswered = new WeakMap<Socket, number>();
  private readonly stallHandlers = new WeakMap<Socket, Set<() => void>>();
  /** Connections this guard closed: requests they had already sent are not counted again. */
  private readonly closed = new WeakSet<Socket>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: ConnectionGuardLimits,
    private readonly onClose: (reason: GuardReason) => void,
  ) {}

  /** Watches every connection `server` accepts. */
  attach(server: http.Server): void {
    server.on('connection', (socket: Socket) => {
      this.watched.set(socket, { bytesWritten: 0, since: monotonicMs() });
      socket.once('close', () => this.watched.delete(socket));
    });
    if (this.limits.stallMs > 0) {
      this.timer = setInterval(() => this.check(monotonicMs()), Math.max(50, Math.min(1000, this.limits.stallMs / 4)));
      this.timer.unref();
    }
  }

  /** Stops looking (the server is closing). */
  detach(): void {
    clearInterval(this.timer);
  }

  /**
   * Counts a request in against its connection; false (and the connection destroyed) when it is
   * one unanswered request too many. Its response's end counts it out.
   */
  admit(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const socket = req.socket;
    if (this.closed.has(socket)) return false;
    const count = (this.unanswered.get(socket) ?? 0) + 1;
    if (count > this.limits.maxPipelined) {
      this.close(socket, 'pipelined');
      return false;
    }
    this.unanswered.set(socket, count);
    res.once('close', () => this.unanswered.set(socket, (this.unanswered.get(socket) ?? 1) - 1));
    return true;
  }

  /** Runs `handler` before `socket` is closed as stalled; returns what unregisters it. */
  onStall(socket: Socket, handler: () => void): () => void {
    let handlers = this.stallHandlers.get(socket);
    if (!handlers) this.stallHandlers.set(socket, (handlers = new Set()));
    handlers.add(handler);
    return () => handlers.delete(handler);
  }

  private check(now: number): void {
    for (const [socket, watch] of this.watched) {
      if (socket.writableLength === 0 || socket.bytesWritten !== watch.bytesWritten) {
        watch.bytesWritten = socket.bytesWritten;
        watch.since = now;
        continue;
      }
      if (now - watch.since < this.limits.stallMs) continue;
      for (const handler of this.stallHandlers.get(socket) ?? []) {
        try {
          handler();
        } catch {
          // a handler's failure must not keep a stalled connection open
        }
      }
      this.close(socket, 'stalled');
    }
  }

  private close(socket: Socket, reason: GuardReason): void {
    this.closed.add(socket);
    this.watched.delete(socket);
    socket.destroy();
    this.onClose(reason);
  }
}
