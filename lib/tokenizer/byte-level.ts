/**
 * GPT-2's byte-level alphabet: each of the 256 bytes is one printable code point, so that BPE
 * merges never see a raw byte (unicode.cpp, unicode_byte_to_utf8_map).
 */
const BYTE_TO_CHAR: readonly string[] = (() => {
  const map = new Array<string>(256);
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 256;
  for (let b = 0; b < 256; b++) map[b] = String.fromCodePoint(printable(b) ? b : next++);
  return map;
})();

const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((ch, b) => [ch, b]));

/** The bytes a byte-level token stands for; characters outside the alphabet come back as their own UTF-8. */
export function byteLevelToBytes(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b !== undefined) out.push(b);
    else for (const x of new TextEncoder().encode(`[UNK_BYTE_${ch}]`)) out.push(x);
  }
  return Uint8Array.from(out);
}

export function byteLevelChar(byte: number): string {
  return BYTE_TO_CHAR[byte];
}

/** The byte-level string of the UTF-8 encoding of code points cps[start, end), without encoding to bytes first. */
export function byteLevelOfCodePoints(cps: readonly number[], start: number, end: number): string {
  let out = '';
  for (let i = start; i < end; i++) {
    const cp = cps[i];
    if (cp < 0x80) out += BYTE_TO_CHAR[cp];
    else if (cp < 0x800) out += BYTE_TO_CHAR[0xc0 | (cp >> 6)] + BYTE_TO_CHAR[0x80 | (cp & 0x3f)];
    else if (cp < 0x10000) out += BYTE_TO_CHAR[0xe0 | (cp >> 12)] + BYTE_TO_CHAR[0x80 | ((cp >> 6) & 0x3f)] + BYTE_TO_CHAR[0x80 | (cp & 0x3f)];
    else out += BYTE_TO_CHAR[0xf0 | (cp >> 18)] + BYTE_TO_CHAR[0x80 | ((cp >> 12) & 0x3f)] + BYTE_TO_CHAR[0x80 | ((cp >> 6) & 0x3f)] + BYTE_TO_CHAR[0x80 | (cp & 0x3f)];
  }
  return out;
}
