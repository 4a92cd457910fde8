/** The longest client-given string that reaches a span, a log line or an error message whole. */
export const MAX_ECHOED_CHARS = 256;

/**
 * `text` cut to `max` characters, with its full length noted when cut, so that nothing a client
 * sends can make a span, a log line or an error message large. Never splits a surrogate pair.
 */
export function boundText(text: string, max = MAX_ECHOED_CHARS): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}… (${text.length} characters)`;
}
