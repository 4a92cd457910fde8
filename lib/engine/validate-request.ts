import { ContextLengthExceededError, InvalidRequestError } from '../errors.js';
import type { SamplingParams } from './sampling-params.js';

/** Checks a request against the model's limits; throws the error a client should see. */
export function validateRequest(promptTokenIds: readonly number[], params: SamplingParams, vocabSize: number, maxModelLen: number): void {
  if (promptTokenIds.length === 0) throw new InvalidRequestError('the prompt must contain at least one token', 'prompt');
  for (const id of promptTokenIds) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new InvalidRequestError(`token id ${id} is outside the vocabulary [0, ${vocabSize})`, 'prompt');
    }
  }
  const wanted = promptTokenIds.length + (params.maxTokens ?? 1);
  if (wanted > maxModelLen) {
    throw new ContextLengthExceededError(
      `This model's maximum context length is ${maxModelLen} tokens. However, you requested ${wanted} tokens ` +
        `(${promptTokenIds.length} in the prompt, ${params.maxTokens ?? 1} for the completion).`,
    );
  }
}
