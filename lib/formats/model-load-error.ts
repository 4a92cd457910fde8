/**
 * A model that cannot be served: a file that is missing, truncated or corrupt, an architecture
 * or tensor type this server does not run, or weights that do not fit. The message names what
 * is wrong; it is meant for the person who started the server.
 */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}
