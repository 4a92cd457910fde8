import Router from '@koa/router';
import Koa, { type Context, type Middleware, type Next } from 'koa';
import { JourneyError } from '../errors.js';
import { boundText } from '../util/bound-text.js';
import type { Logger } from '../util/logger.js';
import { accessLog } from './access-log.js';
import { ApiError, errorResponse } from './api-error.js';
import { requireApiKey } from './auth.js';
import { corsMiddleware, type CorsOptions } from './cors.js';
import { requireAllowedHost } from './host-check.js';
import { generationRoute, type GenerationRouteDeps } from './routes/generation.js';
import { healthRoute, modelRoute, modelsRoute, versionRoute } from './routes/info.js';
import { journeyRoute, journeysRoute, journeyViewerRoute } from './routes/journeys.js';
import { detokenizeRoute, tokenizeRoute } from './routes/tokenize.js';
import type { JourneyStore } from '../observe/journey/journey-store.js';

export interface AppDeps extends GenerationRouteDeps {
  /** Required on every route that serves model output or data; null: no key. */
  readonly apiKey: string | null;
  /** Required on /metrics when set. */
  readonly metricsApiKey: string | null;
  /** Host names the Host header may carry; null: any (a server bound beyond this machine). */
  readonly allowedHosts: readonly string[] | null;
  readonly maxModelLen: number;
  readonly isHealthy: () => boolean;
  readonly metrics: { readonly contentType: string; metrics(): Promise<string> };
  /** Cross-origin access; null: none (browsers on other origins are refused by their own rules). */
  readonly cors: CorsOptions | null;
  /** Recent journeys for /v1/journeys and the viewer; null: not kept. */
  readonly journeys: JourneyStore | null;
  readonly traceUrlTemplate: string | null;
}

const open: Middleware = (_ctx, next) => next();

/**
 * The Koa app, middleware in order: the access log, errors (so every failure answers in the
 * OpenAI error shape), the Host check, then the routes. Authorisation belongs to each route, not to a
 * path prefix that could disagree with how the router matches: every route that serves model
 * output or data requires the key, and routes match case-sensitively, as OpenAI's do.
 * Generation routes write their own responses so that they can stream and observe their last
 * byte.
 */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true; // errorHandler logs what deserves it
  app.use(accessLog(deps.logger));
  app.use(errorHandler(deps.logger));
  if (deps.allowedHosts) app.use(requireAllowedHost(deps.allowedHosts));
  // the viewer's pages are for this origin only: no other site gets their CORS headers
  if (deps.cors) {
    const cors = corsMiddleware(deps.cors);
    app.use((ctx, next) => (isViewerPath(ctx.path) ? next() : cors(ctx, next)));
  }

  const apiKey = deps.apiKey !== null ? requireApiKey(deps.apiKey) : open;
  const metricsKey = deps.metricsApiKey !== null ? requireApiKey(deps.metricsApiKey) : open;
  const router = new Router({ sensitive: true });
  router.get('/health', healthRoute(deps.isHealthy));
  router.get('/version', versionRoute());
  router.get('/metrics', metricsKey, async (ctx) => {
    ctx.type = deps.metrics.contentType;
    ctx.body = await deps.metrics.metrics();
  });
  router.get('/v1/models', apiKey, modelsRoute(deps.models, deps.maxModelLen));
  router.get('/v1/models/:id', apiKey, modelRoute(deps.models, deps.maxModelLen));
  router.post('/v1/chat/completions', apiKey, generationRoute(deps, 'chat'));
  router.post('/v1/completions', apiKey, generationRoute(deps, 'completion'));
  router.post('/v1/responses', apiKey, generationRoute(deps, 'responses'));
  router.post('/tokenize', apiKey, tokenizeRoute(deps));
  router.get('/v1/journeys', apiKey, journeysRoute(deps.journeys));
  router.get('/v1/journeys/:id', apiKey, journeyRoute(deps.journeys));
  // the viewer's pages take the key as Basic credentials too, so that a browser can ask for it
  const viewerKey = deps.apiKey !== null ? requireApiKey(deps.apiKey, { basic: true }) : open;
  router.get('/journeys', viewerKey, journeyViewerRoute(deps.traceUrlTemplate, deps.journeys?.capacity ?? 0));
  router.get('/journeys/data', viewerKey, journeysRoute(deps.journeys));
  router.post('/detokenize', apiKey, detokenizeRoute(deps));

  app.use(router.routes()).use(router.allowedMethods({ throw: true }));
  // answered rather than thrown, so that allowedMethods (which looks after its downstream) can
  // still turn a known path with the wrong method into a 405
  app.use((ctx: Context) => {
    const { status, body } = errorResponse(new ApiError(404, `Unknown route: ${boundText(ctx.method, 32)} ${boundText(ctx.path)}`, 'invalid_request_error', 'not_found'));
    ctx.status = status;
    ctx.body = body;
  });
  return app;
}

/** The journey viewer's page and the data it loads. */
function isViewerPath(path: string): boolean {
  return path === '/journeys' || path.startsWith('/journeys/');
}

function errorHandler(logger: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      // @koa/router's allowedMethods throws plain http-errors (405, 501): the client's doing, not a bug
      const known = err instanceof JourneyError || typeof status !== 'number' ? err : new ApiError(status, boundText((err as Error).message));
      const response = errorResponse(known);
      const where = { method: boundText(ctx.method, 32), path: boundText(ctx.path) };
      if (!(known instanceof JourneyError)) logger.error('request failed', { ...where, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      else if (response.status >= 500) logger.warn('request refused', { ...where, status: response.status, error: boundText(known.message) });
      if (ctx.res.headersSent) return;
      ctx.status = response.status;
      ctx.set(response.headers);
      ctx.body = response.body;
    }
  };
}
