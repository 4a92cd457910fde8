import { EngineOverloadedError, JourneyError } from '../errors.js';

/** An HTTP-level refusal (bad body, wrong route, missing key) in the OpenAI error shape. */
export class ApiError extends JourneyError {
  override readonly param: string | null;
  override readonly code: string | null;
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = 'invalid_request_error',
    code: string | null = null,
    param: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.param = param;
  }
}

/** The body of an OpenAI error response. */
export interface OpenAIErrorBody {
  readonly error: { readonly message: string; readonly type: string; readonly param: string | null; readonly code: string | null };
}

/** What to answer for `err`: status, body and extra headers. Unknown errors become a bare 500. */
export function errorResponse(err: unknown): { status: number; body: OpenAIErrorBody; headers: Record<string, string> } {
  if (err instanceof JourneyError) {
    const headers: Record<string, string> = {};
    if (err instanceof EngineOverloadedError) headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterSeconds)));
    else if (err.status === 503) headers['retry-after'] = '1';
    const message = err.expose ? err.message : 'The server had an error while processing your request.';
    return { status: err.status, headers, body: { error: { message, type: err.type, param: err.param, code: err.code } } };
  }
  return {
    status: 500,
    headers: {},
    body: { error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } },
  };
}
