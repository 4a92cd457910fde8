import type { TokenLogprobs } from '../decode/logprobs.js';
import type { LifecycleStamps } from './lifecycle.js';
import type { FinishReason } from './sequence.js';

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
