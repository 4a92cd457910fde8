import type { Context, Next } from 'koa';
import { ApiError } from './api-error.js';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]', '::1'];

/** Whether `host` (as the server binds it) only listens on this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Refuses requests whose Host header names another host, so that a web page cannot reach a
 * server on this machine through DNS rebinding (its requests would carry the attacker's host
 * name). `allowed` lists host names (without port); "*" allows any.
 */
export function requireAllowedHost(allowed: readonly string[]) {
  const names = new Set(allowed.map((h) => h.toLowerCase()));
  return async (ctx: Context, next: Next) => {
    const name = hostName(ctx.get('host'));
    if (!names.has('*') && (name === null || !names.has(name))) {
      throw new ApiError(403, 'this server does not answer requests for that host name; start it with --allowed-hosts to add it', 'invalid_request_error', 'invalid_host');
    }
    await next();
  };
}

/**
 * The host name of a Host header, lower-cased, without its port; null for a header that is not
 * a host and an optional port (so that "[::1]evil" is no loopback name).
 */
function hostName(header: string): string | null {
  const h = header.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(h);
  return m ? m[1] : null;
}

/** The hosts a loopback-bound server answers by default. */
export function defaultAllowedHosts(bindHost: string): string[] {
  return [...new Set([...LOOPBACK_NAMES, bindHost.toLowerCase()])];
}
