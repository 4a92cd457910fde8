const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Invalid sequences become U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Length of the UTF-8 sequence a lead byte starts (llama.cpp's unicode_len_utf8: 1 for a stray continuation byte). */
export function utf8SequenceLength(lead: number): number {
  const lookup = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4];
  return lookup[lead >> 4];
}

/** The code points of `text` (lone surrogates as U+FFFD, as UTF-8 encoding would make them). */
export function codePoints(text: string): number[] {
  const out: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    out.push(cp >= 0xd800 && cp <= 0xdfff ? 0xfffd : cp);
  }
  return out;
}

/** The string of `cps`, built in slices (spreading a long array into fromCodePoint would overflow the stack). */
export function fromCodePoints(cps: readonly number[], start = 0, end = cps.length): string {
  let out = '';
  for (let i = start; i < end; i += 8192) out += String.fromCodePoint(...cps.slice(i, Math.min(end, i + 8192)));
  return out;
}
