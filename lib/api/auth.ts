import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { ApiError } from './api-error.js';

export interface ApiKeyOptions {
  /**
   * For the viewer's pages only: also take Basic credentials whose password is the key, and
   * answer a missing key with a Basic challenge, so that a browser asks for it (any user name).
   * The browser then sends them along with the page's own requests, so no API route may take
   * them: a browser would send them for another site's requests too.
   */
  readonly basic?: boolean;
}

/**
 * Requires the key: `Authorization: Bearer <apiKey>` (and on the viewer's pages, Basic
 * credentials). Keys are compared as SHA-256 digests with timingSafeEqual, so neither the
 * comparison's time nor an early length mismatch reveals how much of a guess was right.
 */
export function requireApiKey(apiKey: string, options: ApiKeyOptions = {}) {
  const expected = digest(apiKey);
  const basic = options.basic ?? false;
  return async (ctx: Context, next: Next) => {
    const given = presentedKey(ctx.get('authorization'), basic);
    if (given === null || !timingSafeEqual(digest(given), expected)) {
      ctx.set('www-authenticate', basic ? 'Basic realm="journey-llm", charset="UTF-8"' : 'Bearer');
      throw new ApiError(401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
    }
    await next();
  };
}

/** The key an Authorization header carries, as a bearer token or (when allowed) as a Basic password. */
function presentedKey(header: string, allowBasic: boolean): string | null {
  const bearer = /^Bearer\s+(.+)$/i.exec(header);
  if (bearer) return bearer[1].trim();
  if (!allowBasic) return null;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!basic) return null;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : null;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
