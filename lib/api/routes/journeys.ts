import { readFileSync } from 'node:fs';
import type { Context } from 'koa';
import { journeyJson } from '../../observe/journey/journey-json.js';
import type { JourneyFilter, JourneyStore } from '../../observe/journey/journey-store.js';
import { boundText } from '../../util/bound-text.js';
import { ApiError } from '../api-error.js';

/** The viewer: one self-contained page (its script and styles inline), read once. */
const VIEWER_HTML = readFileSync(new URL('../viewer/journeys.html', import.meta.url), 'utf8');

/** Journeys a page holds at most, and by default. */
export const MAX_PAGE_JOURNEYS = 1000;
export const DEFAULT_PAGE_JOURNEYS = 100;
/** A page stops before this many bytes of JSON (but always holds one journey); a cursor gives the rest. */
export const MAX_PAGE_BYTES = 1 << 20;

const LIST_PARAMS = ['limit', 'finish_reason', 'min_ttft_ms', 'min_e2e_ms', 'since', 'cursor'];

function storeOrRefuse(store: JourneyStore | null): JourneyStore {
  if (!store) throw new ApiError(404, 'this server keeps no journeys (--journey-history 0)', 'invalid_request_error', 'not_found');
  return store;
}

function badParam(name: string, message: string): ApiError {
  return new ApiError(400, message, 'invalid_request_error', null, name);
}

/** A query parameter given once, as a string; undefined when absent. */
function param(ctx: Context, name: string): string | undefined {
  const raw = ctx.query[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw badParam(name, `${name} may be given only once`);
  return raw;
}

function numberParam(ctx: Context, name: string, min: number, max: number): number | undefined {
  const raw = param(ctx, name);
  if (raw === undefined) return undefined;
  const value = raw.trim() !== '' ? Number(raw) : NaN;
  if (!Number.isFinite(value) || value < min || value > max) throw badParam(name, `${name} must be a number from ${min} to ${max}`);
  return value;
}

/** `since`: Unix milliseconds, or an ISO 8601 time. */
function sinceParam(ctx: Context): number | undefined {
  const raw = param(ctx, 'since');
  if (raw === undefined) return undefined;
  const value = /^\d{1,16}(\.\d+)?$/.test(raw.trim()) ? Number(raw) : /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : NaN;
  if (!Number.isFinite(value)) throw badParam('since', 'since must be a time in Unix milliseconds or ISO 8601 (2026-12-04T18:00:00Z)');
  return value;
}

function filterOf(ctx: Context): JourneyFilter {
  for (const key of Object.keys(ctx.query)) if (!LIST_PARAMS.includes(key)) throw new ApiError(400, `unknown query parameter ${boundText(key, 64)}; known: ${LIST_PARAMS.join(', ')}`, 'invalid_request_error', 'unknown_parameter', boundText(key, 64));
  const reason = param(ctx, 'finish_reason');
  if (reason !== undefined && !/^[a-z_]{1,32}$/.test(reason)) throw badParam('finish_reason', 'finish_reason must be a reason such as stop, length or client_disconnect');
  const cursor = param(ctx, 'cursor');
  if (cursor !== undefined && !/^\d{1,15}$/.test(cursor)) throw badParam('cursor', 'cursor must be the next_cursor of an earlier page');
  const minTtftMs = numberParam(ctx, 'min_ttft_ms', 0, 1e9);
  const minE2eMs = numberParam(ctx, 'min_e2e_ms', 0, 1e9);
  const sinceMs = sinceParam(ctx);
  return {
    ...(reason !== undefined ? { finishReason: reason } : {}),
    ...(minTtftMs !== undefined ? { minTtftMs } : {}),
    ...(minE2eMs !== undefined ? { minE2eMs } : {}),
    ...(sinceMs !== undefined ? { sinceMs } : {}),
    ...(cursor !== undefined ? { beforeSeq: Number(cursor) } : {}),
  };
}

/**
 * GET /v1/journeys: the recent requests' journeys, newest first. `limit` (default 100, at most
 * 1000 and what the store keeps), `finish_reason` (a choice's finish reason or the request's
 * abort reason), `min_ttft_ms`, `min_e2e_ms`, `since` (only requests that arrived later), and
 * `cursor` (the previous page's `next_cursor`). A page also stops before 1 MiB of JSON; then
 * `has_more` is true and `next_cursor` continues it.
 */
export function journeysRoute(store: JourneyStore | null) {
  return (ctx: Context) => {
    const journeys = storeOrRefuse(store);
    const filter = filterOf(ctx);
    const maxLimit = Math.min(MAX_PAGE_JOURNEYS, journeys.capacity);
    const limit = Math.floor(numberParam(ctx, 'limit', 1, maxLimit) ?? Math.min(DEFAULT_PAGE_JOURNEYS, maxLimit));
    const pieces: string[] = [];
    let bytes = 0;
    let last: number | null = null;
    let hasMore = false;
    for (const j of journeys.list(filter)) {
      if (pieces.length === limit) {
        hasMore = true;
        break;
      }
      const json = JSON.stringify(journeyJson(j, (ns) => journeys.wallMs(ns)));
      if (pieces.length > 0 && bytes + json.length > MAX_PAGE_BYTES) {
        hasMore = true;
        break;
      }
      pieces.push(json);
      bytes += json.length + 1;
      last = j.seq;
    }
    ctx.set('cache-control', 'no-store');
    ctx.type = 'application/json; charset=utf-8';
    const cursor = hasMore && last !== null ? JSON.stringify(String(last)) : 'null';
    ctx.body = `{"object":"list","capacity":${journeys.capacity},"data":[${pieces.join(',')}],"has_more":${hasMore},"next_cursor":${cursor}}`;
  };
}

/** GET /v1/journeys/{id}: the newest journey of a request id (the x-request-id its response carried). */
export function journeyRoute(store: JourneyStore | null) {
  return (ctx: Context) => {
    const journeys = storeOrRefuse(store);
    const id = String(ctx.params.id);
    const journey = journeys.get(id);
    if (!journey) throw new ApiError(404, `no journey is kept for request "${boundText(id, 128)}"`, 'invalid_request_error', 'journey_not_found', 'id');
    ctx.set('cache-control', 'no-store');
    ctx.body = journeyJson(journey, (ns) => journeys.wallMs(ns));
  };
}

/** GET /journeys: the viewer page; `traceUrlTemplate` becomes each traced journey's link. */
export function journeyViewerRoute(traceUrlTemplate: string | null, capacity: number) {
  // JSON in a script tag: "</" is escaped so that no template can close the tag; a replacer
  // function, because a replacement string would read "$&" and "$'" in the template as patterns
  const literal = JSON.stringify(traceUrlTemplate).replace(/</g, '\\u003c');
  const html = VIEWER_HTML.replace('"__TRACE_URL_TEMPLATE__"', () => literal).replace('__JOURNEY_CAPACITY__', String(Math.min(MAX_PAGE_JOURNEYS, capacity)));
  return (ctx: Context) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('cache-control', 'no-store');
    ctx.set('content-security-policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'");
    ctx.set('x-content-type-options', 'nosniff');
    ctx.body = html;
  };
}
