import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { ApiError } from './api-error.js';

/**
 * Requires `Authorization: Bearer <apiKey>`. Keys are compared as SHA-256 digests with
 * timingSafeEqual, so neither the comparison's time nor an early length mismatch reveals how
 * much of a guess was right.
 */
export function requireApiKey(apiKey: string) {
  const expected = digest(apiKey);
  return async (ctx: Context, next: Next) => {
    const match = /^Bearer\s+(.+)$/i.exec(ctx.get('authorization'));
    if (!match || !timingSafeEqual(digest(match[1].trim()), expected)) {
      ctx.set('www-authenticate', 'Bearer');
      throw new ApiError(401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
    }
    await next();
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
