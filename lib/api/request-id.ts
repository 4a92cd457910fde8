/** Longest client request id taken as is. */
const MAX_REQUEST_ID = 128;

/**
 * A client's X-Request-Id, when it is safe to use as this request's id (in logs, spans and the
 * response): 1 to 128 printable ASCII characters without spaces or quotes. Anything else is
 * ignored, and the server makes its own id.
 */
export function requestIdFrom(header: string): string | null {
  if (header.length === 0 || header.length > MAX_REQUEST_ID) return null;
  return /^[A-Za-z0-9._:@\/+=-]+$/.test(header) ? header : null;
}
