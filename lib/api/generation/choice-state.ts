import type { TokenLogprobs } from '../../decode/logprobs.js';
import type { LifecycleStamps } from '../../engine/lifecycle.js';
import { choiceTimings, metricsObject, serverTiming, slowestChoice, type ChoiceRecord } from '../../observe/journey/timings.js';
import type { ChoiceEvent, RequestOutcome } from '../../observe/request-observer.js';
import type { ChoicePrefix, ChoiceResult } from '../response-format.js';
import type { Prepared } from './prepare.js';
import { monotonicNs, msSince } from '../../util/clock.js';

/** What the route keeps of one choice as its events arrive. */
interface ChoiceState extends ChoiceRecord {
  firstReceivedNs: bigint | null;
  completionTokens: number;
  stamps: Readonly<LifecycleStamps> | null;
  text: string;
  finishReason: ChoiceResult['finishReason'];
  /** Kept only for a non-streamed response; a stream sends them and keeps none. */
  logprobs: TokenLogprobs[] | null;
  /** Kept until the choice's prefix is built. */
  promptLogprobs: TokenLogprobs[];
}

/**
 * The choices of one request as they arrive: text, tokens, finish reasons and stamps per choice,
 * from which its results, its outcome, its per-request metrics and its Server-Timing are made.
 */
export class ChoiceStates {
  private readonly choices = new Map<number, ChoiceState>();
  completionTokens = 0;
  /** When the first output of any choice reached this thread (monotonic ns). */
  firstResponseNs: bigint | null = null;

  constructor(
    private readonly arrivedNs: bigint,
    private readonly prepared: Prepared,
  ) {}

  get size(): number {
    return this.choices.size;
  }

  /** Adds a choice's event (stamped on arrival); returns it, and whether it was that choice's first. */
  record(received: ChoiceEvent, keepLogprobs: boolean): { event: ChoiceEvent; first: boolean } {
    const receivedNs = monotonicNs();
    const e = { ...received, receivedNs };
    const first = !this.choices.has(e.index);
    const state = this.choices.get(e.index) ?? { index: e.index, firstReceivedNs: receivedNs, completionTokens: 0, stamps: null, text: '', finishReason: null, logprobs: keepLogprobs ? [] : null, promptLogprobs: [] };
    state.text += e.text;
    state.completionTokens += e.tokenIds.length;
    if (e.stamps) state.stamps = e.stamps;
    state.finishReason = e.finishReason ?? state.finishReason;
    if (e.logprobs) state.logprobs?.push(...e.logprobs);
    for (const entry of e.promptLogprobs ?? []) state.promptLogprobs.push(entry);
    this.choices.set(e.index, state);
    this.completionTokens += e.tokenIds.length;
    if (this.choices.size === 1 && first) this.firstResponseNs = receivedNs;
    return { event: e, first };
  }

  /** What choice `index` puts before its text: the echoed prompt (completions), with its scored tokens when asked for. */
  prefixOf(index: number): ChoicePrefix | null {
    const { request, prompts, echoes } = this.prepared;
    if (!echoes) return null;
    const promptIndex = Math.floor(index / request.n);
    const scored = 'promptLogprobs' in request && request.promptLogprobs !== null;
    const prompt = prompts[promptIndex];
    return {
      text: echoes[promptIndex],
      logprobs: scored ? [{ tokenId: prompt[0], logprob: null }, ...(this.choices.get(index)?.promptLogprobs ?? [])] : null,
    };
  }

  /** A stream's prefix has gone out: its prompt log probabilities need not be kept. */
  prefixSent(index: number): void {
    const state = this.choices.get(index);
    if (state) state.promptLogprobs.length = 0;
  }

  results(): ChoiceResult[] {
    return [...this.choices.entries()].sort(([a], [b]) => a - b).map(([index, c]) => ({ index, text: c.text, finishReason: c.finishReason, logprobs: c.logprobs, prefix: this.prefixOf(index) }));
  }

  outcome(): RequestOutcome {
    const finishReasons = [...this.choices.entries()].sort(([a], [b]) => a - b).map(([, c]) => c.finishReason);
    return { finishReasons, promptTokens: this.prepared.promptTokens, completionTokens: this.completionTokens };
  }

  /** The Server-Timing header: the slowest choice's parts, and the total so far. */
  serverTiming(): string {
    const slowest = slowestChoice([...this.choices.values()]);
    return serverTiming(slowest ? choiceTimings(this.arrivedNs, slowest) : null, msSince(this.arrivedNs));
  }

  /**
   * The per-request `metrics` object: the slowest choice's figures (the one Server-Timing shows),
   * and with several choices one entry per choice too. e2e_ms runs to when the object is made.
   */
  metrics(): object {
    const e2eMs = msSince(this.arrivedNs);
    const choices = [...this.choices.values()].sort((a, b) => a.index - b.index);
    const of = (c: ChoiceState) => metricsObject(choiceTimings(this.arrivedNs, c), c.completionTokens, e2eMs);
    const slowest = slowestChoice(choices);
    return {
      ...(slowest ? of(slowest) : {}),
      ...(choices.length > 1 ? { choices: choices.map((c) => ({ index: c.index, ...of(c) })) } : {}),
    };
  }
}
