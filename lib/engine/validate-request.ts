import { ContextLengthExceededError, InvalidRequestError } from '../errors.js';
import type { DecodeSpec } from '../decode/decode-spec.js';

/** Checks a request against the model's limits; throws the error a client should see. */
export function validateRequest(promptTokenIds: readonly number[], params: Pick<DecodeSpec, 'maxTokens'>, vocabSize: number, maxModelLen: number): void {
  if (promptTokenIds.length === 0) throw new InvalidRequestError('the prompt must contain at least one token', 'prompt');
  for (const id of promptTokenIds) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new InvalidRequestError(`token id ${id} is outside the vocabulary [0, ${vocabSize})`, 'prompt');
    }
  }
  const problem = contextLengthProblem(promptTokenIds.length, params.maxTokens, maxModelLen);
  if (problem !== null) throw problem;
}

/**
 * The refusal of a prompt of `numPromptTokens` (counted up to maxModelLen + 1) with `maxTokens` to
 * generate (null: at least one), or null when it fits; `param` names the field to blame.
 */
export function contextLengthProblem(numPromptTokens: number, maxTokens: number | null, maxModelLen: number, param = 'messages'): ContextLengthExceededError | null {
  if (numPromptTokens > maxModelLen) return new ContextLengthExceededError(`This model's maximum context length is ${maxModelLen} tokens. However, the prompt takes more than ${maxModelLen} tokens.`, param);
  const wanted = numPromptTokens + (maxTokens ?? 1);
  if (wanted <= maxModelLen) return null;
  return new ContextLengthExceededError(
    `This model's maximum context length is ${maxModelLen} tokens. However, you requested ${wanted} tokens (${numPromptTokens} in the prompt, ${maxTokens ?? 1} for the completion).`,
    param,
  );
}
