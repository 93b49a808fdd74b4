/**
 * Rules that session and cache options share: directories, `type` and the data serializer.
 * @module
 */
import type { OptionRule } from './option-rules.js';

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

/** Keeps a string as it is, refusing only non-strings: for options Beaker passes to back-ends untouched. */
export function optionalStringRule(name: string, expected: string): OptionRule {
  return {
    kinds: ['str', 'null'],
    message: `${name} must be a string.`,
    expected,
  };
}

/** Back-end options beaker-ts knows and passes on to the back-ends as given, and Beaker's unused `log_file`. */
export const BACKEND_PASSTHROUGH_OPTIONS: readonly string[] = [
  'url',
  'urls',
  'memcache_module',
  'redis_module',
  'sa_opts',
  'bind',
  'table',
  'dbm_dir',
  'file_dir',
  'dbmmodule',
  'digest_filenames',
  'log_file',
];

/** Back-end options that are checked as strings. */
export const BACKEND_RULES = {
  table_name: optionalStringRule('table_name', 'a table name'),
  schema_name: optionalStringRule('schema_name', 'a schema name'),
} as const;
