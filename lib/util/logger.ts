/**
 * JSON-lines logger: one object per line on stderr, `{ time, level, msg, ...fields }`.
 * `warnOnce` logs a given cause once and stays quiet after, for failures that may repeat for
 * every request (a collector down, a full queue): the first occurrence is logged, the rest are
 * counted by whoever calls it.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  readonly level: LogLevel;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Logs at warn level the first time `cause` is seen; returns whether it logged. */
  warnOnce(cause: string, msg: string, fields?: LogFields): boolean;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly write?: (line: string) => void;
  readonly fields?: LogFields;
}

/** Distinct causes warnOnce remembers; past this, new causes are not logged (memory stays bounded). */
const MAX_CAUSES = 1000;
const TOO_MANY = '\u0000too-many-causes';

export function createLogger(options: LoggerOptions = {}): Logger {
  return new JsonLogger(options.level ?? 'info', options.write ?? ((line) => process.stderr.write(line)), options.fields ?? {}, new Set());
}

class JsonLogger implements Logger {
  private readonly threshold: number;

  constructor(
    readonly level: LogLevel,
    private readonly write: (line: string) => void,
    private readonly fields: LogFields,
    private readonly seenCauses: Set<string>,
  ) {
    this.threshold = LOG_LEVELS.indexOf(level);
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  warnOnce(cause: string, msg: string, fields?: LogFields): boolean {
    // a cause that quotes timings or counts ("deadline exceeded after 5.0012s") is the same cause
    const key = cause.replace(/\d+(\.\d+)?/g, '#').slice(0, 200);
    if (this.seenCauses.has(key)) return false;
    if (this.seenCauses.size >= MAX_CAUSES) {
      if (this.seenCauses.has(TOO_MANY)) return false;
      this.seenCauses.add(TOO_MANY);
      this.warn(`more than ${MAX_CAUSES} distinct warnings; further new ones are not logged`);
      return false;
    }
    this.seenCauses.add(key);
    this.warn(msg, fields);
    return true;
  }

  child(fields: LogFields): Logger {
    return new JsonLogger(this.level, this.write, { ...this.fields, ...fields }, this.seenCauses);
  }

  private log(level: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields): void {
    if (LOG_LEVELS.indexOf(level) < this.threshold) return;
    const record = { time: new Date().toISOString(), level, msg, ...this.fields, ...fields };
    this.write(`${JSON.stringify(record, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
  }
}
