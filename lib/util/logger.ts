import { pino, type Logger as PinoInstance } from 'pino';

/**
 * JSON-lines logger over pino: one object per line on stderr, `{ level, time, ...fields, msg }`.
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
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const level = options.level ?? 'info';
  const root = pino(
    {
      level,
      base: { ...(options.fields ?? {}) },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    // a plain synchronous stream: lines leave in order, and a test or embedder can take them
    { write },
  );
  return new PinoLogger(level, root, new Set());
}

/** The Logger interface over pino, with warnOnce's memory shared by a logger and its children. */
class PinoLogger implements Logger {
  constructor(
    readonly level: LogLevel,
    private readonly pino: PinoInstance,
    private readonly seenCauses: Set<string>,
  ) {}

  debug(msg: string, fields?: LogFields): void {
    this.pino.debug(plain(fields), msg);
  }

  info(msg: string, fields?: LogFields): void {
    this.pino.info(plain(fields), msg);
  }

  warn(msg: string, fields?: LogFields): void {
    this.pino.warn(plain(fields), msg);
  }

  error(msg: string, fields?: LogFields): void {
    this.pino.error(plain(fields), msg);
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
    return new PinoLogger(this.level, this.pino.child(plain(fields)), this.seenCauses);
  }
}

/** Fields as pino serialises them: bigints (monotonic stamps) as decimal strings. */
function plain(fields: LogFields | undefined): Record<string, unknown> {
  if (!fields) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = typeof v === 'bigint' ? v.toString() : v;
  return out;
}
