import { boundText } from '../util/bound-text.js';
import { ApiError } from './api-error.js';

/** The names clients may use for the one model this server serves (vLLM's --served-model-name). */
export interface ServedModels {
  /** The first name: what responses and metrics call the model when the client named none. */
  readonly primary: string;
  readonly names: readonly string[];
}

export function servedModels(names: readonly string[]): ServedModels {
  if (names.length === 0 || names.some((n) => n === '')) throw new RangeError('served model names must be non-empty');
  return { primary: names[0], names: [...new Set(names)] };
}

/**
 * The name a response carries: the one the client asked for, or the primary one when it named
 * none (the field is optional, as in vLLM). A name the server does not serve is a 404.
 */
export function resolveModelName(models: ServedModels, requested: string | null): string {
  if (requested === null) return models.primary;
  if (models.names.includes(requested)) return requested;
  throw new ApiError(404, `The model "${boundText(requested)}" does not exist; this server serves ${models.names.map((n) => `"${n}"`).join(', ')}`, 'invalid_request_error', 'model_not_found', 'model');
}
