import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { boundText } from '../util/bound-text.js';
import { ApiError } from './api-error.js';

/**
 * Reads and parses a JSON request body of at most `limit` bytes. A declared Content-Length over
 * the limit is refused before any byte is read, and an undeclared one as soon as the limit is
 * crossed, so an oversized body is never buffered whole.
 */
export async function readJsonBody(ctx: Context, limit: number): Promise<unknown> {
  if (!ctx.is('application/json')) {
    throw new ApiError(415, `Content-Type must be application/json, got "${boundText(ctx.get('content-type') || 'none', 64)}"`, 'invalid_request_error', 'unsupported_media_type');
  }
  const encoding = ctx.get('content-encoding').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    // read as plain bytes, a compressed body would fail as "invalid JSON", or worse, parse
    throw new ApiError(415, `Content-Encoding "${boundText(encoding, 32)}" is not supported; send the body uncompressed`, 'invalid_request_error', 'unsupported_media_type');
  }
  const declared = ctx.request.length;
  if (declared !== undefined && declared > limit) throw tooLarge(limit);
  let text: string;
  try {
    text = await getRawBody(ctx.req, { length: declared, limit, encoding: 'utf8' });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') throw tooLarge(limit);
    if (type === 'request.aborted') throw new ApiError(400, 'the request body was cut off', 'invalid_request_error', 'request_aborted');
    throw new ApiError(400, `the request body could not be read: ${boundText((err as Error).message)}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, 'We could not parse the JSON body of your request. Expected a JSON object.', 'invalid_request_error', 'invalid_json');
  }
}

function tooLarge(limit: number): ApiError {
  return new ApiError(413, `the request body is larger than the limit of ${limit} bytes`, 'invalid_request_error', 'request_too_large');
}
