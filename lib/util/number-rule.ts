/**
 * The one definition of "this value must be a number in a range", shared by request fields,
 * engine options and command-line flags. Each caller turns the problem into its own error
 * (a 400 naming the field, a RangeError naming the option, a usage error naming the flag).
 */
export interface NumberRule {
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
  /** The minimum itself is not allowed (e.g. top_p > 0). */
  readonly exclusiveMin?: boolean;
}

/** Why `value` breaks `rule` ("must be an integer", "must be between 0 and 2, got 5"), or null when it holds. */
export function numberProblem(value: unknown, rule: NumberRule): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return rule.integer ? 'must be an integer' : 'must be a number';
  if (rule.integer && !Number.isInteger(value)) return 'must be an integer';
  if (value < rule.min || value > rule.max) return `must be between ${rule.min} and ${rule.max}, got ${value}`;
  if (rule.exclusiveMin && value === rule.min) return `must be greater than ${rule.min}`;
  return null;
}
