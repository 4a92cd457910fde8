import { readFileSync } from 'node:fs';
import type { Context } from 'koa';
import { resolveModelName, type ServedModels } from '../served-models.js';
import { unixSeconds } from '../../util/clock.js';

const VERSION: string = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;
const STARTED = unixSeconds();

const modelCard = (id: string, maxModelLen: number) => ({ id, object: 'model', created: STARTED, owned_by: 'journey-llm', max_model_len: maxModelLen });

/** GET /v1/models: the one model this server serves, under each of its names. */
export function modelsRoute(models: ServedModels, maxModelLen: number) {
  return (ctx: Context) => {
    ctx.body = { object: 'list', data: models.names.map((name) => modelCard(name, maxModelLen)) };
  };
}

/** GET /v1/models/{id}: one of those names, or a 404 in the OpenAI error shape. */
export function modelRoute(models: ServedModels, maxModelLen: number) {
  return (ctx: Context) => {
    ctx.body = modelCard(resolveModelName(models, String(ctx.params.id)), maxModelLen);
  };
}

/** GET /health: 200 once the engine is ready, 503 before that and while shutting down. */
export function healthRoute(isHealthy: () => boolean) {
  return (ctx: Context) => {
    const ok = isHealthy();
    ctx.status = ok ? 200 : 503;
    ctx.body = { status: ok ? 'ok' : 'unavailable' };
  };
}

/** GET /version */
export function versionRoute() {
  return (ctx: Context) => {
    ctx.body = { version: VERSION };
  };
}

export function packageVersion(): string {
  return VERSION;
}
