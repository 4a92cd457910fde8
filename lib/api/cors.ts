import cors from '@koa/cors';
import type { Context, Middleware } from 'koa';

/** Cross-origin access for browser front ends (vLLM's --allowed-origins, --allowed-methods, --allowed-headers). */
export interface CorsOptions {
  /** Origins allowed, exactly as browsers send them ("https://app.example"), or "*". */
  readonly allowedOrigins: readonly string[];
  readonly allowedMethods: readonly string[];
  readonly allowedHeaders: readonly string[];
  readonly allowCredentials: boolean;
}

/** What a CORS setting that names only its origins gets for the rest. */
export const CORS_DEFAULTS: Omit<CorsOptions, 'allowedOrigins'> = Object.freeze({
  allowedMethods: ['GET', 'POST', 'OPTIONS'],
  allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
  allowCredentials: false,
});

/**
 * Why these options are refused, or null. Any origin with credentials would let every website
 * a user visits act with the user's credentials and read the answers: the CORS standard refuses
 * "*" with credentials, and so does this server, at start rather than by echoing the origin.
 */
export function corsProblem(options: CorsOptions): string | null {
  if (options.allowCredentials && options.allowedOrigins.includes('*')) return 'allowing credentials from any origin ("*") would let every website use them; list the origins to allow';
  return null;
}

/**
 * CORS through @koa/cors: preflights answered, and the allow headers set for origins in the
 * list only; "*" answers any origin, without credentials (corsProblem refuses the pair).
 */
export function corsMiddleware(options: CorsOptions): Middleware {
  const problem = corsProblem(options);
  if (problem !== null) throw new RangeError(problem);
  const any = options.allowedOrigins.includes('*');
  return cors({
    origin: (ctx: Context) => {
      if (any) return '*';
      const origin = ctx.get('origin');
      return options.allowedOrigins.includes(origin) ? origin : '';
    },
    allowMethods: [...options.allowedMethods],
    allowHeaders: [...options.allowedHeaders],
    exposeHeaders: ['x-request-id', 'server-timing'],
    credentials: options.allowCredentials,
    keepHeadersOnError: true,
  });
}
