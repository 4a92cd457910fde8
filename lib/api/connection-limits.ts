import type http from 'node:http';

/** How long and how many connections the server gives its clients. Seconds; 0 turns a limit off. */
export interface ConnectionLimits {
  /** The request line and headers must arrive within this (slow-header clients, "slowloris"). */
  readonly headersTimeoutSeconds: number;
  /** The whole request, headers and body, must arrive within this (slow-body clients). */
  readonly bodyTimeoutSeconds: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutSeconds: number;
  /** A client that reads nothing of its response for this long is disconnected and its generation ended. */
  readonly streamStallTimeoutSeconds: number;
  /** Connections over this are closed as they arrive. */
  readonly maxConnections: number;
}

export const CONNECTION_DEFAULTS: ConnectionLimits = Object.freeze({
  headersTimeoutSeconds: 20,
  bodyTimeoutSeconds: 60,
  keepAliveTimeoutSeconds: 5,
  streamStallTimeoutSeconds: 30,
  maxConnections: 1024,
});

/** Why these limits cannot be applied, or null. */
export function connectionLimitsProblem(limits: ConnectionLimits): string | null {
  const { headersTimeoutSeconds: headers, bodyTimeoutSeconds: body } = limits;
  if (body > 0 && (headers === 0 || headers > body)) return 'the headers timeout must be set and at most the body timeout, which covers the headers too';
  return null;
}

/** The http.Server options that enforce `limits` (maxConnections is set on the server after). */
export function httpServerOptions(limits: ConnectionLimits): http.ServerOptions {
  return {
    noDelay: true,
    headersTimeout: limits.headersTimeoutSeconds * 1000,
    requestTimeout: limits.bodyTimeoutSeconds * 1000,
    keepAliveTimeout: limits.keepAliveTimeoutSeconds * 1000,
    // Node checks the two timeouts above only this often (30 s by default)
    connectionsCheckingInterval: 1000,
  };
}
