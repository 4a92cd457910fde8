/** A piece of text to tokenize, or a special token already found in it. */
export type Fragment = { readonly text: string } | { readonly token: number };

/**
 * Splits special tokens out of text before the tokenizer sees it (llama.cpp's
 * tokenizer_st_partition): each special token, longest first, is searched for in every piece of
 * text still left, and each occurrence becomes a token of its own. With `parseSpecial` off,
 * control and unknown tokens stay plain text, while user-defined tokens are still split out.
 */
export function partitionSpecialTokens(
  text: string,
  specialTokens: readonly number[],
  tokenText: (id: number) => string,
  isControlOrUnknown: (id: number) => boolean,
  parseSpecial: boolean,
): Fragment[] {
  if (text === '') return [];
  let fragments: Fragment[] = [{ text }];
  for (const id of specialTokens) {
    if (!parseSpecial && isControlOrUnknown(id)) continue;
    const special = tokenText(id);
    if (special === '') continue;
    const next: Fragment[] = [];
    for (const fragment of fragments) {
      if (!('text' in fragment) || !fragment.text.includes(special)) {
        next.push(fragment);
        continue;
      }
      let rest = fragment.text;
      for (let at = rest.indexOf(special); at >= 0; at = rest.indexOf(special)) {
        if (at > 0) next.push({ text: rest.slice(0, at) });
        next.push({ token: id });
        rest = rest.slice(at + special.length);
      }
      if (rest !== '') next.push({ text: rest });
    }
    fragments = next;
  }
  return fragments;
}
