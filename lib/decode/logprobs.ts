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


/** log Σ exp(row), computed stably (in float64). */
export function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  return max + Math.log(sum);
}

/** The `n` largest entries of `row`, largest first (ties: lower id first): O(row × n) worst, O(row) typical. */
export function topEntries(row: Float32Array, n: number): number[] {
  const ids: number[] = [];
  if (n <= 0) return ids;
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (ids.length === n && v <= row[ids[n - 1]]) continue;
    let at = ids.length === n ? n - 1 : ids.length;
    while (at > 0 && row[ids[at - 1]] < v) at--;
    if (ids.length === n) ids.pop();
    ids.splice(at, 0, i);
  }
  return ids;
}

/**
 * The log probabilities one distribution gives: `raw` is the model's row of logits [vocabSize]
 * before any processing, `lse` its logSumExp; `tokenId`'s entry and the `n` most likely tokens.
 */
export function logprobsOf(raw: Float32Array, lse: number, tokenId: number, n: number): TokenLogprobs {
  return {
    tokenId,
    logprob: raw[tokenId] - lse,
    top: topEntries(raw, n).map((id) => ({ tokenId: id, logprob: raw[id] - lse })),
  };
}
