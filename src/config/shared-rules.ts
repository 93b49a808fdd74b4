/**
 * Rules that session and cache options share: directories, the data serializer and `log_file`.
 * @module
 */
import { asGivenRule, type OptionRule } from '../shared/option-rules.js';

/** A serializer object: turns a value into text or bytes and back. It must never execute code while decoding. */
export interface DataSerializer {
  dumps(value: unknown): string | Uint8Array;
  loads(data: string | Uint8Array): unknown;
}

/** The built-in serializer names. `pickle` is refused: see docs/compat.md. */
export type DataSerializerName = 'json';

const DIRECTORY_EXPECTED = 'a directory path';

export const dataDirRule: OptionRule = {
  kinds: ['str', 'null'],
  message: 'data_dir must be a string referring to a directory.',
  expected: DIRECTORY_EXPECTED,
};

export const lockDirRule: OptionRule = {
  kinds: ['str', 'null'],
  message: 'lock_dir must be a string referring to a directory.',
  expected: DIRECTORY_EXPECTED,
};

function isSerializerObject(value: unknown): value is DataSerializer {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<DataSerializer>;
  return typeof candidate.dumps === 'function' && typeof candidate.loads === 'function';
}

/**
 * `data_serializer`: `json`, or an object with `dumps` and `loads`. Beaker turns such an object given under a prefix
 * into a useless string; here it is kept. `pickle` is refused because decoding it can run code.
 */
export const dataSerializerRule: OptionRule = {
  message: 'data_serializer must be a string.',
  expected: '"json" or an object with dumps() and loads()',
  refine(value, fail) {
    if (isSerializerObject(value)) return value;
    if (typeof value !== 'string') return fail('data_serializer must be a string.');
    const name = value.trim();
    if (name === '') return fail('Empty strings are invalid for: data_serializer must be a string.');
    if (name === 'pickle') {
      return fail(
        'Invalid value for data_serializer: pickle. beaker-ts refuses pickle: decoding it can run code, ' +
          'so anyone who can write a session or cache entry could take over the process.',
      );
    }
    if (name !== 'json') return fail(`Invalid value for data_serializer: ${name}`);
    return name;
  },
};

/** `log_file`: Beaker's log file option, accepted and ignored (beaker-ts reports through events and warnings). */
export const logFileRule: OptionRule = asGivenRule('log_file', 'a file path (ignored)');
