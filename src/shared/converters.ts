/**
 * Beaker's string converters (`beaker.converters` and `beaker.util.asint`), with the same accepted forms.
 * @module
 */
import { NotABooleanError } from './errors.js';

const TRUE_STRINGS = new Set(['true', 'yes', 'on', 'y', 't', '1']);
const FALSE_STRINGS = new Set(['false', 'no', 'off', 'n', 'f', '0']);
const DIGITS_ONLY = /^\d+$/;

export { NotABooleanError };

/**
 * Beaker's `asbool`: `true yes on y t 1` and `false no off n f 0` in any case, surrounding blanks ignored.
 * Booleans are kept, numbers use truthiness (`0` is false) and `null` is false, as in Python. Anything else throws.
 */
export function asBool(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (value === null) return false;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  if (typeof value === 'string') {
    const normalized = value.trim().toLowerCase();
    if (TRUE_STRINGS.has(normalized)) return true;
    if (FALSE_STRINGS.has(normalized)) return false;
    throw new NotABooleanError(normalized);
  }
  throw new TypeError(`Not a boolean: ${typeof value}`);
}

/**
 * Beaker's `asint`: an integer is kept; a string of digits only (no sign, no blanks, no decimal point) is parsed.
 * Anything else throws.
 */
export function asInt(value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && DIGITS_ONLY.test(value)) {
    const parsed = Number(value);
    if (Number.isSafeInteger(parsed)) return parsed;
  }
  throw new TypeError('This is not a proper int');
}

/**
 * Beaker's `aslist`: a string is split on `separator` (on runs of blanks when none is given) and each item trimmed;
 * arrays come back unchanged; `null`/`undefined` give `[]`; anything else becomes a one-item list.
 */
export function asList(value: unknown, separator?: string, strip = true): unknown[] {
  if (typeof value === 'string') {
    const items = separator === undefined ? splitOnBlanks(value) : value.split(separator);
    return strip ? items.map((item) => item.trim()) : items;
  }
  if (Array.isArray(value)) return value as unknown[];
  if (value === null || value === undefined) return [];
  return [value];
}

/** Python's `str.split()` with no separator: runs of blanks separate, leading and trailing blanks give nothing. */
function splitOnBlanks(value: string): string[] {
  const trimmed = value.trim();
  return trimmed === '' ? [] : trimmed.split(/\s+/);
}

/** Beaker's comma list for `regions`: split on `,`, each item trimmed, empty items kept (callers skip them). */
export function asCommaList(value: string): string[] {
  return value.split(',').map((item) => item.trim());
}
