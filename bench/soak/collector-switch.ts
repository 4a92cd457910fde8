import net from 'node:net';

export type CollectorMode = 'live' | 'dead' | 'black-hole';

/**
 * A stand-in collector address whose behaviour can change mid-run: `live` relays each connection
 * to a real OTLP receiver, `dead` resets every connection, `black-hole` accepts connections and
 * never answers. Switching modes drops every connection, as a collector restart would.
 */
export class CollectorSwitch {
  private mode: CollectorMode = 'live';
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(upstreamPort: number): Promise<CollectorSwitch> {
    let self: CollectorSwitch | null = null;
    const server = net.createServer((socket) => (self as CollectorSwitch).accept(socket, upstreamPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new CollectorSwitch(server, (server.address() as net.AddressInfo).port);
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  setMode(mode: CollectorMode): void {
    this.mode = mode;
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.setMode('dead');
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(socket: net.Socket, upstreamPort: number): void {
    socket.on('error', () => {});
    if (this.mode === 'dead') {
      socket.resetAndDestroy();
      return;
    }
    this.track(socket);
    if (this.mode === 'black-hole') {
      socket.resume(); // reads whatever comes, answers nothing
      return;
    }
    const upstream = this.track(net.connect(upstreamPort, '127.0.0.1'));
    upstream.on('error', () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
    socket.once('close', () => upstream.destroy());
    upstream.once('close', () => socket.destroy());
  }

  private track(socket: net.Socket): net.Socket {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    return socket;
  }
}
