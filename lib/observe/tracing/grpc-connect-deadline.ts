import { createRequire } from 'node:module';
import type { Logger } from '../../util/logger.js';

interface SecureConnectResult {
  readonly socket: { destroy(): void };
}

interface ConnectorPrototype {
  createSession(result: SecureConnectResult, ...rest: unknown[]): Promise<unknown>;
}

/** The deadline in force in this thread, or null until installed. */
let deadlineMs: number | null = null;

/**
 * Gives every new gRPC connection attempt in this thread a deadline for its HTTP/2 handshake.
 *
 * grpc-js (1.14) waits for the server's SETTINGS frame with no deadline (grpc/grpc-node#2785): a
 * collector that accepts connections and never answers, a black hole, keeps every attempt's
 * socket open forever, and the OTLP exporter, which replaces its client after repeated
 * DEADLINE_EXCEEDED errors, opens one more each time. gRPC's connection-backoff spec gives each
 * attempt a deadline (C-core and grpc-java do); this adds one: past it the attempt's socket is
 * destroyed, the attempt fails, and grpc-js backs off and retries as after any failed connect.
 * It wraps one internal method of the pinned grpc-js version; if that is not there, it says so
 * once and changes nothing. The first deadline installed in a thread stays.
 */
export function installGrpcConnectDeadline(ms: number, logger: Logger): void {
  if (deadlineMs !== null) return;
  let prototype: ConnectorPrototype | undefined;
  try {
    const require = createRequire(import.meta.url);
    // the grpc-js the OTLP exporter loads: resolved from the exporter's own package
    const fromExporter = createRequire(require.resolve('@opentelemetry/otlp-grpc-exporter-base'));
    prototype = (fromExporter('@grpc/grpc-js/build/src/transport.js') as { Http2SubchannelConnector?: { prototype: ConnectorPrototype } }).Http2SubchannelConnector?.prototype;
  } catch {
    prototype = undefined;
  }
  if (typeof prototype?.createSession !== 'function') {
    logger.warnOnce('grpc-connect-deadline', 'cannot bound gRPC connection attempts in this grpc-js version; a collector that never answers may hold sockets open');
    return;
  }
  deadlineMs = ms;
  const createSession = prototype.createSession;
  prototype.createSession = function (this: unknown, result: SecureConnectResult, ...rest: unknown[]) {
    const timer = setTimeout(() => result.socket.destroy(), ms);
    timer.unref();
    const session = createSession.call(this, result, ...rest);
    const clear = () => clearTimeout(timer);
    session.then(clear, clear);
    return session;
  };
}
