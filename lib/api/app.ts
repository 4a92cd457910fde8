import Router from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import { JourneyError } from '../errors.js';
import type { Logger } from '../util/logger.js';
import { ApiError, errorResponse } from './api-error.js';
import { requireApiKey } from './auth.js';
import { generationRoute, type GenerationRouteDeps } from './routes/generation.js';
import { healthRoute, modelsRoute, versionRoute } from './routes/info.js';

export interface AppDeps extends GenerationRouteDeps {
  readonly apiKey: string | null;
  readonly maxModelLen: number;
  readonly isHealthy: () => boolean;
  /** Extra routes mounted at the root (e.g. /metrics). */
  readonly extraRoutes?: (router: Router) => void;
}

/**
 * The Koa app, middleware in order: errors (outermost, so every failure answers in the OpenAI
 * error shape), then the API key on /v1, then the routes. Generation routes write their own
 * responses so that they can stream and observe their last byte.
 */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true; // errorHandler logs what deserves it
  app.use(errorHandler(deps.logger));

  const router = new Router();
  router.get('/health', healthRoute(deps.isHealthy));
  router.get('/version', versionRoute());
  deps.extraRoutes?.(router);

  const v1 = new Router({ prefix: '/v1' });
  if (deps.apiKey !== null) v1.use(requireApiKey(deps.apiKey));
  v1.get('/models', modelsRoute(deps.servedModelName, deps.maxModelLen));
  v1.post('/chat/completions', generationRoute(deps, 'chat'));
  v1.post('/completions', generationRoute(deps, 'completion'));

  app.use(router.routes()).use(router.allowedMethods({ throw: true }));
  app.use(v1.routes()).use(v1.allowedMethods({ throw: true }));
  // answered rather than thrown, so that allowedMethods (which looks after its downstream) can
  // still turn a known path with the wrong method into a 405
  app.use((ctx: Context) => {
    const { status, body } = errorResponse(new ApiError(404, `Unknown route: ${ctx.method} ${ctx.path}`, 'invalid_request_error', 'not_found'));
    ctx.status = status;
    ctx.body = body;
  });
  return app;
}

function errorHandler(logger: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      // @koa/router's allowedMethods throws plain http-errors (405, 501)
      const known = err instanceof JourneyError || typeof status !== 'number' ? err : new ApiError(status, (err as Error).message);
      const response = errorResponse(known);
      if (response.status >= 500) logger.error('request failed', { method: ctx.method, path: ctx.path, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      if (ctx.res.headersSent) return;
      ctx.status = response.status;
      ctx.set(response.headers);
      ctx.body = response.body;
    }
  };
}
