import { Rng } from '../util/rng.js';
import type { DecodeSpec } from '../decode/decode-spec.js';

export type SequenceStatus = 'waiting' | 'running' | 'finished';

/** Why a sequence left the engine. */
export type FinishReason = 'stop' | 'length' | 'abort' | 'error';

/** Why a caller ends a sequence early: it stopped listening (`abort`), or found a stop string in the text (`stop`). */
export type CancelReason = 'abort' | 'stop';

/**
 * One generation stream: its tokens, where its KV lives, and the counters the lifecycle
 * events report. The scheduler and block manager own the mutable fields; everyone else reads.
 */
export class Sequence {
  status: SequenceStatus = 'waiting';
  /** Prompt ids followed by every generated id. */
  readonly tokenIds: number[];
  readonly numPromptTokens: number;
  /** Tokens whose keys and values sit in the KV cache; back to the cached prefix on preemption. */
  numComputedTokens = 0;
  /** KV block ids, in token order. */
  blockTable: number[] = [];
  numPreemptions = 0;
  /** Prompt tokens computed so far, as a high-water mark that survives preemption. */
  prefillHighWater = 0;
  /** True once the scheduler has given it a batch slot; a later admission is a resume. */
  hasBeenScheduled = false;
  finishReason: FinishReason | null = null;
  /** This sequence's own generator, so its samples do not depend on its batch neighbours. */
  readonly rng: Rng;

  constructor(
    readonly seqId: number,
    readonly requestId: string,
    promptTokenIds: readonly number[],
    readonly params: DecodeSpec,
    /** Upper bound on numTokens: the engine's context window. */
    readonly maxModelLen: number,
    /** Seed of `rng`: the request's own, or one drawn for it by the engine. */
    readonly seed: number,
  ) {
    this.rng = new Rng(seed);
    this.tokenIds = [...promptTokenIds];
    this.numPromptTokens = promptTokenIds.length;
  }

  get numTokens(): number {
    return this.tokenIds.length;
  }

  get numOutputTokens(): number {
    return this.tokenIds.length - this.numPromptTokens;
  }

  get lastTokenId(): number {
    return this.tokenIds[this.tokenIds.length - 1];
  }

  /** The output budget: the request's max_tokens, or whatever the context window leaves. */
  get maxOutputTokens(): number {
    const room = this.maxModelLen - this.numPromptTokens;
    return this.params.maxTokens === null ? room : Math.min(this.params.maxTokens, room);
  }

  /** Tokens not yet in the KV cache: 1 while decoding, more while (re)prefilling. */
  get numUncomputedTokens(): number {
    return this.tokenIds.length - this.numComputedTokens;
  }

  get isFinished(): boolean {
    return this.status === 'finished';
  }
}
