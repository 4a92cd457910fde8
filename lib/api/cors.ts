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

/**
 * CORS through @koa/cors: preflights answered, and the allow headers set for origins in the
 * list only. "*" answers any origin (never with credentials: a browser refuses that pair).
 */
export function corsMiddleware(options: CorsOptions): Middleware {
  const any = options.allowedOrigins.includes('*');
  return cors({
    origin: (ctx: Context) => {
      const origin = ctx.get('origin');
      if (any) return options.allowCredentials ? origin : '*';
      return options.allowedOrigins.includes(origin) ? origin : '';
    },
    allowMethods: [...options.allowedMethods],
    allowHeaders: [...options.allowedHeaders],
    exposeHeaders: ['x-request-id', 'server-timing'],
    credentials: options.allowCredentials,
    keepHeadersOnError: true,
  });
}
