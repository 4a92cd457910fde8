import { numberProblem, type NumberRule } from './number-rule.js';

/** A bad command line: the message to print, and exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Turns a flag's text into its value, or throws a UsageError naming the flag. */
export type FlagReader<T> = (text: string, flag: string) => T;

/** An integer in [min, max]: digits only, since "1e3" and "0x10" are numbers to Number(), not integers a person types. */
export function integerFlag(min: number, max: number): FlagReader<number> {
  return (text, flag) => ruled(/^\s*-?\d+\s*$/.test(text) ? Number(text) : NaN, text, flag, { min, max, integer: true });
}

/** A number in [min, max]. */
export function numberFlag(min: number, max: number): FlagReader<number> {
  return (text, flag) => ruled(text.trim() === '' ? NaN : Number(text), text, flag, { min, max });
}

/** One of `choices`. */
export function choiceFlag<T extends string>(choices: readonly T[]): FlagReader<T> {
  return (text, flag) => {
    if (!(choices as readonly string[]).includes(text)) throw new UsageError(`${flag} must be one of ${choices.join(', ')}`);
    return text as T;
  };
}

/** Text that must not be empty (a key, a name). */
export const textFlag: FlagReader<string> = (text, flag) => {
  if (text === '') throw new UsageError(`${flag} must not be empty`);
  return text;
};

/** A size in bytes, as 65536, 512kb or 1mb, at most 1024mb. */
export const byteSizeFlag: FlagReader<number> = (text, flag) => {
  const match = /^(\d+)\s*(b|kb|mb)?$/i.exec(text.trim());
  const value = match ? Number(match[1]) * { b: 1, kb: 1024, mb: 1024 * 1024 }[(match[2] ?? 'b').toLowerCase() as 'b' | 'kb' | 'mb'] : NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > 1 << 30) throw new UsageError(`${flag} must be a size like 65536, 512kb or 1mb (at most 1024mb), got "${text}"`);
  return value;
};

/** A list: a JSON array of strings (vLLM's form) or comma-separated values; at least one. */
export const listFlag: FlagReader<string[]> = (text, flag) => {
  const trimmed = text.trim();
  let list: string[];
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new UsageError(`${flag} must be a JSON list or comma-separated values, got "${text}"`);
    }
    if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string')) throw new UsageError(`${flag} must be a list of strings`);
    list = parsed;
  } else {
    list = trimmed.split(',').map((v) => v.trim()).filter((v) => v !== '');
  }
  if (list.length === 0) throw new UsageError(`${flag} must name at least one value, or "*"`);
  return list;
};

/** An http(s) URL, holding `placeholder` when one is given. */
export function urlFlag(placeholder?: string): FlagReader<string> {
  return (text, flag) => {
    if (!/^https?:\/\/[^/]+/.test(text) || (placeholder !== undefined && !text.includes(placeholder))) {
      throw new UsageError(`${flag} must be an http(s) URL${placeholder ? ` containing ${placeholder}` : ''}, got "${text}"`);
    }
    return text;
  };
}

function ruled(value: number, text: string, flag: string, rule: NumberRule): number {
  if (numberProblem(value, rule) !== null) throw new UsageError(`${flag} must be ${rule.integer ? 'an integer' : 'a number'} from ${rule.min} to ${rule.max}, got "${text}"`);
  return value;
}
