import { EngineFailureError, EngineOverloadedError, GenerationError, InvalidRequestError, JourneyError, RequestTimeoutError } from '../errors.js';
import type { AbortReason } from '../observe/request-observer.js';

/** The client went away before its response was complete. Never sent: there is nobody to send it to. */
export class ClientDisconnectError extends JourneyError {
  readonly status = 499;
  readonly type = 'client_disconnect';
  /** `detail` says how, when the server ended the connection itself (e.g. "stalled"). */
  constructor(detail?: string) {
    super(detail === undefined ? 'the client disconnected' : `the client disconnected: ${detail}`);
    this.name = 'ClientDisconnectError';
  }
}

/** The tracing contract's reason for a request that ended in `err`. */
export function abortReasonOf(err: unknown): AbortReason {
  if (err instanceof ClientDisconnectError) return 'client_disconnect';
  if (err instanceof RequestTimeoutError) return 'timeout';
  if (err instanceof InvalidRequestError) return err.code === 'context_length_exceeded' ? 'context_length_exceeded' : 'validation_error';
  if (err instanceof EngineOverloadedError) return 'overloaded';
  if (err instanceof EngineFailureError) return err.code === 'server_shutdown' ? 'server_shutdown' : 'engine_failure';
  if (err instanceof GenerationError) return 'generation_error';
  if (err instanceof JourneyError && err.status < 500) return 'validation_error';
  return 'exception';
}
