/**
 * Finds stop strings in streamed text. Text that could still turn out to be the start of a stop
 * string is held back until the next delta settles it, so no delta ever shows part of a stop
 * string; the stop string itself is shown only when asked for. A held-back tail is at most (longest stop − 1)
 * characters, which is why any match always lies inside the text this matcher still holds.
 */
export class StopStringMatcher {
  private held = '';
  private readonly holdBack: number;

  constructor(
    private readonly stops: readonly string[],
    /** Keep the stop string itself at the end of the text. */
    private readonly includeStop = false,
  ) {
    this.holdBack = Math.max(0, ...stops.map((s) => s.length)) - 1;
  }

  /**
   * Takes the next piece of text; returns what may be shown now and whether a stop string
   * ended the text. With `final`, nothing is held back.
   */
  push(text: string, final: boolean): { text: string; stopped: boolean } {
    const buffer = this.held + text;
    let cut = -1;
    let end = -1;
    for (const stop of this.stops) {
      const at = buffer.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) {
        cut = at;
        end = at + stop.length;
      }
    }
    if (cut >= 0) {
      this.held = '';
      return { text: buffer.slice(0, this.includeStop ? end : cut), stopped: true };
    }
    if (final) {
      this.held = '';
      return { text: buffer, stopped: false };
    }
    let keep = Math.min(this.holdBack, buffer.length);
    // never split a surrogate pair between what is shown and what is held
    if (keep < buffer.length && isHighSurrogate(buffer.charCodeAt(buffer.length - keep - 1))) keep++;
    this.held = buffer.slice(buffer.length - keep);
    return { text: buffer.slice(0, buffer.length - keep), stopped: false };
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
