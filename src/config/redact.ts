/**
 * Options hold secrets (`secret`, `validate_key`, `encrypt_key`, passwords in URLs): what the parse and coerce
 * functions return shows them masked when printed (`console.log`, `util.inspect`) or serialized (`JSON.stringify`),
 * while the values themselves stay usable.
 * @module
 */
import { redactCredentials } from '../shared/errors.js';

/** Options whose whole value is a secret. */
const SECRET_OPTIONS = new Set(['secret', 'validate_key', 'encrypt_key']);
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

function maskSecret(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecret);
  return typeof value === 'string' ? `[redacted: ${value.length} characters]` : value;
}

function maskValue(value: unknown): unknown {
  if (typeof value === 'string') return redactCredentials(value);
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)) {
    // Nested option objects: `sa_opts` ({ 'sa.url': ... }) and each region of `cache_regions`.
    if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)
      return redactedCopy(value);
  }
  return value;
}

/** A copy of `options` with secrets and URL passwords masked. */
export function redactedCopy(options: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(options).map(([name, value]) => [
      name,
      SECRET_OPTIONS.has(name) ? maskSecret(value) : maskValue(value),
    ]),
  );
}

/** Makes `options` print and serialize with its secrets masked; returns it. */
export function withRedactedView<T extends object>(options: T): T {
  Object.defineProperties(options, {
    [INSPECT]: {
      value(
        this: T,
        _depth: number,
        inspectOptions: object,
        inspect: (value: unknown, options: object) => string,
      ) {
        return inspect(redactedCopy(this), inspectOptions);
      },
    },
    toJSON: {
      value(this: T) {
        return redactedCopy(this);
      },
    },
  });
  return options;
}
