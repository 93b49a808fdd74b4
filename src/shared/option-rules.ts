/**
 * The coercion engine shared by session and cache options: Beaker's `verify_options`,
 * followed by beaker-ts's own checks where Beaker accepted nonsense.
 * @module
 */
import { ConfigError } from './errors.js';
import { asBool, asCommaList, asInt } from './converters.js';

/** The value kinds of Beaker's rules: `(bool, NoneType)` is `['bool', 'null']`. */
export type ValueKind = 'bool' | 'int' | 'str' | 'list' | 'date' | 'null';

/** How one option is coerced and checked. */
export interface OptionRule {
  /** Accepted kinds in priority order, as in Beaker's rule table. Absent: the value is not coerced by kind. */
  kinds?: readonly ValueKind[];
  /** Beaker's error text for a value of none of the kinds (our own text where Beaker has no rule). */
  message: string;
  /** What a valid value looks like, for error messages. */
  expected: string;
  /** Mask the value in error messages. */
  secret?: boolean;
  /** Converts or checks the value after the kind coercion; throws a {@link ConfigError} through `fail`. */
  refine?: (value: unknown, fail: (reason: string) => never) => unknown;
}

/** A table of rules by option name. */
export type RuleTable = Readonly<Record<string, OptionRule>>;

/** Where an option came from, for error messages: its short name and the key the user wrote. */
export interface OptionSource {
  option: string;
  key: string;
}

/** Is `value` already of `kind` (Beaker's `isinstance` test)? */
function isOfKind(value: unknown, kind: ValueKind): boolean {
  switch (kind) {
    case 'bool':
      return typeof value === 'boolean';
    case 'int':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'str':
      return typeof value === 'string';
    case 'list':
      return Array.isArray(value);
    case 'date':
      return value instanceof Date;
    case 'null':
      return value === null;
  }
}

const NOT_CONVERTED = Symbol('not converted');

/** Tries to turn `value` into `kind`, as Beaker's converters do; {@link NOT_CONVERTED} when it cannot. */
function convertToKind(value: unknown, kind: ValueKind): unknown {
  try {
    switch (kind) {
      case 'bool':
        // Beaker takes the truthiness of any number, so cookie_expires = 1.5 meant "browser session"; only 0 and 1 here.
        return typeof value === 'number' && value !== 0 && value !== 1 ? NOT_CONVERTED : asBool(value);
      case 'int':
        return asInt(value);
      case 'list':
        return typeof value === 'string' ? asCommaList(value) : NOT_CONVERTED;
      case 'str':
        // Beaker applies str() to anything (None becomes "None"); only plain scalars are turned into text here.
        return typeof value === 'number' || typeof value === 'bigint' ? String(value) : NOT_CONVERTED;
      case 'date':
      case 'null':
        return NOT_CONVERTED;
    }
  } catch {
    return NOT_CONVERTED;
  }
}

/**
 * Coerces one option's value by its rule: Beaker's algorithm (a value of an accepted kind is kept, but an empty
 * string is refused; otherwise the kinds' converters are tried in order), then the rule's own refinement.
 */
export function coerceOption(value: unknown, rule: OptionRule, source: OptionSource): unknown {
  const fail = (reason: string, beakerMessage?: string): never => {
    throw new ConfigError(reason, {
      ...source,
      value,
      expected: rule.expected,
      secret: rule.secret ?? false,
      ...(beakerMessage === undefined ? {} : { beakerMessage }),
    });
  };
  let coerced = value;
  if (rule.kinds) {
    coerced = coerceByKind(value, rule.kinds, (emptyString) => {
      const text = emptyString ? `Empty strings are invalid for: ${rule.message}` : rule.message;
      return fail(text, text);
    });
  }
  return rule.refine ? rule.refine(coerced, (reason) => fail(reason)) : coerced;
}

function coerceByKind(
  value: unknown,
  kinds: readonly ValueKind[],
  fail: (emptyString: boolean) => never,
): unknown {
  if (kinds.some((kind) => isOfKind(value, kind))) {
    if (typeof value === 'string' && value.trim() === '') fail(true);
    return value;
  }
  for (const kind of kinds) {
    const converted = convertToKind(value, kind);
    if (converted !== NOT_CONVERTED) return converted;
  }
  return fail(false);
}

/**
 * Coerces every option of `params` that `rules` knows, returning a new object; unknown options are copied unchanged
 * and `undefined` values are dropped (an option set to `undefined` counts as absent).
 */
export function coerceWithRules(
  params: Readonly<Record<string, unknown>>,
  rules: RuleTable,
  keyOf: (option: string) => string = (option) => option,
): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [option, value] of Object.entries(params)) {
    if (value === undefined) continue;
    const rule = Object.hasOwn(rules, option) ? rules[option] : undefined;
    result[option] = rule ? coerceOption(value, rule, { option, key: keyOf(option) }) : value;
  }
  return result;
}

/** Throws a {@link ConfigError} about a combination of options (no single value is wrong by itself). */
export function failCombination(
  source: OptionSource,
  value: unknown,
  reason: string,
  beakerMessage?: string,
): never {
  throw new ConfigError(reason, {
    ...source,
    value,
    ...(beakerMessage === undefined ? {} : { beakerMessage }),
  });
}

/** A whole number of at least `minimum` (or `null`), refused with `message` otherwise. */
export function integerRule(message: string, expected: string, minimum: number): OptionRule {
  return {
    kinds: ['int', 'null'],
    message,
    expected,
    refine: (value, fail) =>
      value === null || (typeof value === 'number' && value >= minimum) ? value : fail(message),
  };
}

/** The most seconds a timer can wait: Node's timers fire at once past 2³¹ − 1 ms. */
export const MAX_TIMER_SECONDS = 2_147_483;

/**
 * A number of seconds, fractions allowed (`0.25`), of at least `minimum` (more than it when `exclusive`) and at most
 * {@link MAX_TIMER_SECONDS} (about 24.8 days), or `null`. A string such as `'1.5'` from an INI file is read as a number.
 */
export function secondsRule(
  message: string,
  expected: string,
  bound: { minimum: number; exclusive: boolean },
): OptionRule {
  return {
    message,
    expected,
    refine(value, fail) {
      if (value === null) return null;
      const seconds = typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
      const inRange =
        typeof seconds === 'number' &&
        Number.isFinite(seconds) &&
        (bound.exclusive ? seconds > bound.minimum : seconds >= bound.minimum) &&
        seconds <= MAX_TIMER_SECONDS;
      return inRange ? seconds : fail(message);
    },
  };
}

/** A whole number of at least 1 (or `null`). */
export function positiveIntegerRule(message: string, expected: string): OptionRule {
  return integerRule(message, expected, 1);
}

/** `true` or `false` (or `null`), with Beaker's spellings (`yes`, `off`, `1`, ...). */
export function booleanRule(message: string): OptionRule {
  return { kinds: ['bool', 'null'], message, expected: 'true or false (also yes/no, on/off, y/n, t/f, 1/0)' };
}

/**
 * An option kept exactly as given (a string from an INI file, or a client object in code): for options Beaker hands
 * to its back-ends untouched, which each back-end checks when it opens, and for Beaker options that are ignored.
 */
export function asGivenRule(name: string, expected: string): OptionRule {
  return { message: `${name} is kept as given.`, expected };
}

/** A string (or `null`), kept as it is: a table or schema name. */
export function optionalStringRule(name: string, expected: string): OptionRule {
  return { kinds: ['str', 'null'], message: `${name} must be a string.`, expected };
}
