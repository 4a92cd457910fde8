import { readFileSync } from 'node:fs';
import type { Context } from 'koa';
import type { JourneyStore } from '../../observe/journey/journey-store.js';
import { boundText } from '../../util/bound-text.js';
import { ApiError } from '../api-error.js';

/** The viewer: one self-contained page (its script and styles inline), read once. */
const VIEWER_HTML = readFileSync(new URL('../viewer/journeys.html', import.meta.url), 'utf8');

function storeOrRefuse(store: JourneyStore | null): JourneyStore {
  if (!store) throw new ApiError(404, 'this server keeps no journeys (--journey-history 0)', 'invalid_request_error', 'not_found');
  return store;
}

function numberParam(ctx: Context, name: string, min: number, max: number): number | undefined {
  const raw = ctx.query[name];
  if (raw === undefined) return undefined;
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  if (!Number.isFinite(value) || value < min || value > max) throw new ApiError(400, `${name} must be a number from ${min} to ${max}`, 'invalid_request_error', null, name);
  return value;
}

/**
 * GET /v1/journeys: the recent requests' journeys, newest first (those in flight first).
 * `limit` (default 100), `finish_reason` (a choice's finish reason or the request's abort
 * reason), `min_ttft_ms`, `min_e2e_ms`, and `since` (Unix ms: only requests that arrived later).
 */
export function journeysRoute(store: JourneyStore | null) {
  return (ctx: Context) => {
    const journeys = storeOrRefuse(store);
    const reason = ctx.query.finish_reason;
    if (reason !== undefined && (typeof reason !== 'string' || !/^[a-z_]{1,32}$/.test(reason))) throw new ApiError(400, 'finish_reason must be a reason such as stop, length or client_disconnect', 'invalid_request_error', null, 'finish_reason');
    const limit = numberParam(ctx, 'limit', 1, journeys.capacity) ?? Math.min(100, journeys.capacity);
    const minTtftMs = numberParam(ctx, 'min_ttft_ms', 0, 1e9);
    const minE2eMs = numberParam(ctx, 'min_e2e_ms', 0, 1e9);
    const sinceMs = numberParam(ctx, 'since', 0, 1e15);
    const list = journeys.list({
      limit: Math.floor(limit),
      ...(typeof reason === 'string' ? { finishReason: reason } : {}),
      ...(minTtftMs !== undefined ? { minTtftMs } : {}),
      ...(minE2eMs !== undefined ? { minE2eMs } : {}),
      ...(sinceMs !== undefined ? { sinceMs } : {}),
    });
    ctx.set('cache-control', 'no-store');
    ctx.body = { object: 'list', capacity: journeys.capacity, data: list.map((j) => journeys.toJson(j)) };
  };
}

/** GET /v1/journeys/{id}: one journey by request id (the x-request-id its response carried). */
export function journeyRoute(store: JourneyStore | null) {
  return (ctx: Context) => {
    const journeys = storeOrRefuse(store);
    const id = String(ctx.params.id);
    const journey = journeys.get(id);
    if (!journey) throw new ApiError(404, `no journey is kept for request "${boundText(id, 128)}"`, 'invalid_request_error', 'journey_not_found', 'id');
    ctx.set('cache-control', 'no-store');
    ctx.body = journeys.toJson(journey);
  };
}

/** GET /journeys: the viewer page; `traceUrlTemplate` becomes each traced journey's link. */
export function journeyViewerRoute(traceUrlTemplate: string | null) {
  // JSON in a script tag: "</" is escaped so that no template can close the tag
  const html = VIEWER_HTML.replace('"__TRACE_URL_TEMPLATE__"', JSON.stringify(traceUrlTemplate).replace(/</g, '\\u003c'));
  return (ctx: Context) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('cache-control', 'no-store');
    ctx.set('content-security-policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'");
    ctx.set('x-content-type-options', 'nosniff');
    ctx.body = html;
  };
}
