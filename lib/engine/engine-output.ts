import type { LifecycleStamps } from './lifecycle.js';
import type { FinishReason } from './sequence.js';

/**
 * Log probabilities at one position: of the token that is there (sampled, or the prompt's), and
 * of the most likely tokens, from the model's raw distribution.
 */
export interface TokenLogprobs {
  readonly tokenId: number;
  readonly logprob: number;
  /** The most likely tokens, most likely first (as many as were asked for). */
  readonly top: readonly { readonly tokenId: number; readonly logprob: number }[];
}

/** What one request got out of one engine step, wherever the engine runs: new tokens, and at the end why it finished. */
export interface EngineOutput {
  readonly newTokenIds: readonly number[];
  readonly finishReason: FinishReason | null;
  /** Why it failed, when finishReason is "error". */
  readonly error: string | null;
  /** Monotonic stamps so far; complete once finishReason is set. */
  readonly stamps: Readonly<LifecycleStamps>;
  /** When these tokens were produced (monotonic ns). */
  readonly tsNs: bigint;
  /** One entry per new token, when the request asked for log probabilities. */
  readonly logprobs?: readonly TokenLogprobs[];
  /** The next prompt positions' entries (from the second prompt token on), when asked for. */
  readonly promptLogprobs?: readonly TokenLogprobs[];
}
