/**
 * Errors that cross the library boundary. Each carries the HTTP status a server should answer
 * with and whether its message is safe to show a client (`expose`), in the manner of Koa's
 * http-errors; `type` and `code` follow the OpenAI error object.
 */
export abstract class JourneyError extends Error {
  abstract readonly status: number;
  abstract readonly type: string;
  readonly code: string | null = null;
  readonly param: string | null = null;
  get expose(): boolean {
    // overloads, shutdowns and timeouts say what happened; other 5xx hide internals
    return this.status < 500 || this.status === 503 || this.status === 504;
  }
}

/** The request itself is wrong: a bad parameter, an unknown model, an empty prompt. */
export class InvalidRequestError extends JourneyError {
  readonly status = 400;
  readonly type = 'invalid_request_error';
  override readonly param: string | null;
  override readonly code: string | null;
  constructor(message: string, param: string | null = null, code: string | null = null) {
    super(message);
    this.name = 'InvalidRequestError';
    this.param = param;
    this.code = code;
  }
}

/** Prompt plus requested output does not fit the model's context window. */
export class ContextLengthExceededError extends InvalidRequestError {
  constructor(message: string, param: string | null = 'messages') {
    super(message, param, 'context_length_exceeded');
    this.name = 'ContextLengthExceededError';
  }
}

/** Queues are full; the caller should retry after `retryAfterSeconds`. */
export class EngineOverloadedError extends JourneyError {
  readonly status = 503;
  readonly type = 'overloaded_error';
  override readonly code = 'overloaded';
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
    this.name = 'EngineOverloadedError';
  }
}

/** The engine that held the request died or was shut down; the request did not complete. */
export class EngineFailureError extends JourneyError {
  readonly status = 503;
  readonly type = 'engine_failure';
  override readonly code: string;
  constructor(message: string, code: 'engine_failure' | 'server_shutdown' = 'engine_failure') {
    super(message);
    this.name = 'EngineFailureError';
    this.code = code;
  }
}

/** The engine reported an error for this one request (its forward pass or sampling failed). */
export class GenerationError extends JourneyError {
  readonly status = 500;
  readonly type = 'server_error';
  override readonly code = 'generation_error';
  constructor(message: string) {
    super(message);
    this.name = 'GenerationError';
  }
}

/** The request ran past the server's configured request timeout and was stopped. */
export class RequestTimeoutError extends JourneyError {
  readonly status = 504;
  readonly type = 'timeout_error';
  override readonly code = 'request_timeout';
  constructor(seconds: number) {
    super(`the request did not finish within the server's limit of ${seconds} s`);
    this.name = 'RequestTimeoutError';
  }
}
