import type { TokenLogprobs } from '../decode/logprobs.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

/** A token as the logprobs formats show it: its text (a partial character decodes to U+FFFD) and its bytes. */
export interface TokenText {
  readonly token: string;
  readonly bytes: number[];
}

const decoder = new TextDecoder();

export function tokenTextOf(tokenizer: Pick<Tokenizer, 'pieceBytes'>): (id: number) => TokenText {
  return (id) => {
    const bytes = tokenizer.pieceBytes(id);
    return { token: decoder.decode(bytes), bytes: Array.from(bytes) };
  };
}

/** The chat shape: `{content: [{token, logprob, bytes, top_logprobs: [...]}]}`, OpenAI's. */
export function chatLogprobs(entries: readonly TokenLogprobs[], text: (id: number) => TokenText): object {
  return {
    content: entries.map((e) => ({
      ...text(e.tokenId),
      logprob: e.logprob,
      top_logprobs: e.top.map((t) => ({ ...text(t.tokenId), logprob: t.logprob })),
    })),
    refusal: null,
  };
}

/**
 * The completions shape (OpenAI's legacy one, which evaluation harnesses read): parallel lists
 * of tokens, their log probabilities, the top alternatives as {token: logprob}, and each token's
 * character offset in the choice's text. An entry of null (the first prompt token, which nothing
 * predicts) has null log probabilities.
 */
export function completionLogprobs(entries: readonly (TokenLogprobs | { tokenId: number; logprob: null })[], text: (id: number) => TokenText, firstOffset: number): { logprobs: object; nextOffset: number } {
  const tokens: string[] = [];
  const tokenLogprobs: (number | null)[] = [];
  const top: (Record<string, number> | null)[] = [];
  const offsets: number[] = [];
  let offset = firstOffset;
  for (const e of entries) {
    const { token } = text(e.tokenId);
    tokens.push(token);
    tokenLogprobs.push(e.logprob);
    top.push('top' in e ? Object.fromEntries(e.top.map((t) => [text(t.tokenId).token, t.logprob])) : null);
    offsets.push(offset);
    offset += token.length;
  }
  return { logprobs: { tokens, token_logprobs: tokenLogprobs, top_logprobs: top, text_offset: offsets }, nextOffset: offset };
}
