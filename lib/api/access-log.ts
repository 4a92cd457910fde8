import type { Context, Next } from 'koa';
import { boundText } from '../util/bound-text.js';
import type { Logger } from '../util/logger.js';
import { monotonicMs, monotonicNs, msSince } from '../util/clock.js';

/** What a route adds to its request's access-log line (token counts, latencies, trace ids). */
export type AccessFields = Record<string, unknown>;

/** Overloads and timeouts come in bursts: one warn line per status per this many ms, with a count of the rest. */
const WARN_EVERY_MS = 5000;

/**
 * One access-log line per request at info, once its response has ended (streams included;
 * 499 for one that never finished):
 * method, route (the route's pattern, never a client's path when it matched one), status,
 * request id, duration, and what the route added to `ctx.state.access` (for generation: trace
 * id, prompt and output tokens, TTFT). Never prompt or completion text. 503 and 504 are logged
 * at warn instead, at most once per status every few seconds, with how many were not.
 */
export function accessLog(logger: Logger) {
  const lastWarn = new Map<number, { at: number; suppressed: number }>();
  return async (ctx: Context, next: Next) => {
    const start = monotonicNs();
    ctx.res.once('close', () => {
      // a response that never finished (its client left, or stopped reading and was closed):
      // nginx's 499, whatever status its headers had said
      const status = ctx.res.headersSent && ctx.res.writableFinished ? ctx.res.statusCode : 499;
      const matched = (ctx as Context & { _matchedRoute?: string })._matchedRoute;
      const line = {
        method: boundText(ctx.method, 16),
        route: typeof matched === 'string' ? matched : `unmatched ${boundText(ctx.path, 64)}`,
        status,
        ...(ctx.res.getHeader('x-request-id') ? { requestId: String(ctx.res.getHeader('x-request-id')) } : {}),
        durationMs: msSince(start),
        ...((ctx.state.access as AccessFields | undefined) ?? {}),
      };
      if (status !== 503 && status !== 504) {
        logger.info('request', line);
        return;
      }
      const now = monotonicMs();
      const last = lastWarn.get(status);
      if (last && now - last.at < WARN_EVERY_MS) {
        last.suppressed++;
        return;
      }
      logger.warn(status === 503 ? 'request refused: overloaded or shutting down' : 'request timed out', { ...line, ...(last?.suppressed ? { notLoggedSinceLast: last.suppressed } : {}) });
      lastWarn.set(status, { at: now, suppressed: 0 });
    });
    await next();
  };
}
