/**
 * Cache and region options: their types, Beaker's coercion of each, and beaker-ts's extra checks.
 * @module
 */
import { BUILT_IN_BACKEND_OPTION_RULES } from '../backends/built-in.js';
import type { BackendOptions } from './backend-options.js';
import { withRedactedView } from './redact.js';
import {
  booleanRule,
  coerceWithRules,
  integerRule,
  positiveIntegerRule,
  secondsRule,
  type OptionRule,
  type RuleTable,
} from '../shared/option-rules.js';
import {
  dataDirRule,
  dataSerializerRule,
  lockDirRule,
  logFileRule,
  type DataSerializer,
} from './shared-rules.js';

/** Beaker's default for `key_length`: keys of cached functions longer than this are hashed. */
export const DEFAULT_CACHE_KEY_LENGTH = 250;

/**
 * Options of one cache or region, as `coerceCacheParams` returns them (Beaker's option names).
 * Every field is optional: only the options given are present.
 */
export interface CacheRegionOptions extends BackendOptions {
  /**
   * The back-end: `memory`, `file`, `dbm`, `ext:redis`, `ext:memcached`, `ext:database`, ... or a name registered
   * with `registerBackend`.
   * @default 'memory'
   * @example 'file'
   */
  type?: string;
  /**
   * Directory of file-based back-ends (`file`, `dbm`).
   * @default null
   * @example '/var/cache/myapp/data'
   */
  data_dir?: string | null;
  /**
   * Directory of the lock files through which processes on one host agree on who creates a value (dog-pile
   * protection).
   * @default null
   * @example '/var/cache/myapp/lock'
   */
  lock_dir?: string | null;
  /**
   * Seconds until a cached value is old and is created anew; `null` keeps it forever.
   * @default null
   * @example 3600
   */
  expire?: number | null;
  /**
   * Turns caching on or off (off: every call runs the function).
   * @default true
   * @example false
   */
  enabled?: boolean | null;
  /**
   * Keys of cached functions longer than this many bytes are replaced by a hash.
   * @default 250
   * @example 200
   */
  key_length?: number | null;
  /**
   * Values stored before this moment count as expired, in seconds since the epoch (a `Date` is accepted).
   * @default null
   * @example 1767225600
   */
  starttime?: number | null;
  /**
   * Legacy alias of `expire` on a single cache.
   * @default null
   * @example 60
   */
  expiretime?: number | null;
  /**
   * How values are serialized for storage: `json` (with Date, Map, Set, BigInt and bytes kept), or an object with
   * `dumps` and `loads`.
   * @default 'json'
   * @example 'json'
   */
  data_serializer?: 'json' | DataSerializer;
  /**
   * Seconds an expired value is still kept, so that callers get it at once while one caller creates the new value
   * (serve-stale). Back-ends drop entries `expire + grace` seconds after they were stored. `null`: as long as `expire`.
   * @default null
   * @example 300
   */
  grace?: number | null;
  /**
   * Longest wait, in seconds, for another caller that is creating the same value; after it the caller creates the
   * value itself (and an event reports it).
   * @default 30
   * @example 10
   */
  lock_timeout?: number | null;
  /**
   * With an expired value at hand, how many seconds the caller that creates the new value waits for it before it
   * too gets the expired value, the creation finishing in the background. `0` answers at once
   * (stale-while-revalidate); `null` waits for the creation. Other callers get the expired value at once either way.
   * @default null
   * @example 0.5
   */
  soft_timeout?: number | null;
  /**
   * Seconds after which a creator still running is abandoned: the `AbortSignal` it was given is aborted, the
   * creation lock released, and the call fails with a `CreationTimeoutError` (or gets the expired value under
   * `stale_if_error`). `null`: creators run as long as they take.
   * @default null
   * @example 10
   */
  hard_timeout?: number | null;
  /**
   * Seconds after expiry during which a creator that fails (throws, or passes `hard_timeout`) is answered with the
   * expired value instead of its error; the failure is reported as a `creation-error` event and nobody tries again
   * for `error_backoff` seconds. Back-ends keep entries long enough for it. `null`: the error fails the call.
   * @default null
   * @example 600
   */
  stale_if_error?: number | null;
  /**
   * Seconds after a failed creation (under `stale_if_error`) during which every caller, in every process, gets the
   * expired value and nobody calls the creator; then one caller tries again.
   * @default 10
   * @example 30
   */
  error_backoff?: number | null;
  /**
   * Seconds before expiry from which a hit starts one background refresh (the caller gets the value at once), so
   * that a value in use never expires. `null`: values are created again only once expired.
   * @default null
   * @example 30
   */
  refresh_ahead?: number | null;
  /**
   * Tags of every entry the cache writes, besides those of each call: `deleteByTag` and `expireByTag` invalidate by
   * them.
   * @default null
   * @example ['users']
   */
  tags?: string[] | null;
}

/** Global cache options: a region's options plus the list of regions. */
export interface CacheOptions extends CacheRegionOptions {
  /**
   * Names of the regions to configure; each region reads `cache.<region>.<option>` keys and inherits `type`,
   * `data_dir`, `lock_dir`, `expire`, `enabled`, `key_length`, `soft_timeout`, `hard_timeout`, `stale_if_error`,
   * `error_backoff` and `refresh_ahead` from the global options.
   * @default null
   * @example ['short_term', 'long_term']
   */
  regions?: string[] | null;
}

/** What `parseCacheConfigOptions` returns: the global options and, when `regions` was given, each region's. */
export interface ParsedCacheConfig extends Omit<CacheOptions, 'regions'> {
  /** One entry per region named in `regions`. Absent when `regions` was not given. */
  cache_regions?: Record<string, CacheRegionOptions>;
}

/** What `coerceCacheParams` accepts: each option typed, or as the string an INI file gives. */
export type CacheOptionsInput = { [K in keyof CacheOptions]?: CacheOptions[K] | string | Date | null };

const startTimeRule: OptionRule = {
  message: 'starttime must be a Date or a number of seconds since the epoch.',
  expected: 'a Date or a number of seconds since the epoch',
  refine(value, fail) {
    if (value === null) return null;
    const seconds =
      value instanceof Date
        ? value.getTime() / 1000
        : typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim())
          ? Number(value)
          : value;
    if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0) return seconds;
    return fail('starttime must be a Date or a number of seconds since the epoch.');
  },
};

/** The options of the cache itself, never a back-end's (Beaker's texts in `message`). */
export const CACHE_LEVEL_RULES: RuleTable = {
  data_dir: dataDirRule,
  lock_dir: lockDirRule,
  type: { kinds: ['str'], message: 'Cache type must be a string.', expected: 'a back-end name' },
  enabled: booleanRule('enabled must be true/false if present.'),
  // Beaker keeps 0 and negative numbers; 0 then meant "never expires". Here expire is at least 1 second.
  expire: positiveIntegerRule(
    'expire must be an integer representing how many seconds the cache is valid for',
    'a positive whole number of seconds',
  ),
  regions: {
    kinds: ['list', 'null'],
    message: 'Regions must be a comma separated list of valid regions',
    expected: 'region names separated by commas',
    refine: (value, fail) =>
      value === null || (Array.isArray(value) && value.every((item) => typeof item === 'string'))
        ? value
        : fail('Regions must be a comma separated list of valid regions'),
  },
  key_length: positiveIntegerRule(
    'key_length must be an integer which indicates the longest a key can be before hashing',
    'a positive whole number of bytes',
  ),
  starttime: startTimeRule,
  expiretime: positiveIntegerRule('expiretime must be an integer.', 'a positive whole number of seconds'),
  data_serializer: dataSerializerRule,
  grace: integerRule('grace must be a whole number of seconds.', 'a whole number of seconds (0 or more)', 0),
  lock_timeout: positiveIntegerRule(
    'lock_timeout must be a positive whole number of seconds.',
    'a positive whole number of seconds',
  ),
  log_file: logFileRule,
  soft_timeout: secondsRule(
    'soft_timeout must be a number of seconds from 0 to 2147483.',
    'a number of seconds from 0 to 2147483 (0: answer with the expired value at once)',
    { minimum: 0, exclusive: false },
  ),
  hard_timeout: secondsRule(
    'hard_timeout must be a positive number of seconds, at most 2147483.',
    'a positive number of seconds, at most 2147483',
    {
      minimum: 0,
      exclusive: true,
    },
  ),
  stale_if_error: secondsRule(
    'stale_if_error must be a number of seconds from 0 to 2147483.',
    'a number of seconds from 0 to 2147483',
    { minimum: 0, exclusive: false },
  ),
  error_backoff: secondsRule(
    'error_backoff must be a number of seconds from 0 to 2147483.',
    'a number of seconds from 0 to 2147483',
    { minimum: 0, exclusive: false },
  ),
  refresh_ahead: secondsRule(
    'refresh_ahead must be a positive number of seconds, at most 2147483.',
    'a positive number of seconds before expiry, at most 2147483',
    { minimum: 0, exclusive: true },
  ),
  tags: {
    kinds: ['list', 'null'],
    message: 'tags must be a comma separated list of tag names.',
    expected: 'tag names separated by commas',
    refine: (value, fail) =>
      value === null ||
      (Array.isArray(value) && value.every((item) => typeof item === 'string' && item !== ''))
        ? value
        : fail('tags must be a comma separated list of tag names.'),
  },
};

/** The names of {@link CACHE_LEVEL_RULES}: what a back-end never receives (but `data_dir` and `lock_dir`, if it asks). */
export const CACHE_LEVEL_OPTIONS: ReadonlySet<string> = new Set(Object.keys(CACHE_LEVEL_RULES));

/** The cache options and every built-in back-end's options, each by its rule. */
const CACHE_RULES: RuleTable = { ...BUILT_IN_BACKEND_OPTION_RULES, ...CACHE_LEVEL_RULES };

/** Every cache option name beaker-ts knows, for the misspelling check. */
export const CACHE_OPTION_NAMES: readonly string[] = Object.keys(CACHE_RULES);

/**
 * Coerces and validates cache options given by short name (Beaker's `coerce_cache_params`), returning a new object.
 * Throws a {@link ConfigError} naming the option and the value.
 *
 * @param keyOf maps an option name to the key the user wrote, for error messages.
 * @example coerceCacheParams({ expire: '60', enabled: 'off' }) // { expire: 60, enabled: false }
 */
export function coerceCacheParams(
  params: CacheOptionsInput | Readonly<Record<string, unknown>>,
  keyOf: (option: string) => string = (option) => option,
): CacheOptions {
  return withRedactedView(coerceCacheOptions(params, keyOf));
}

/**
 * {@link coerceCacheParams} without the masked printing view, for options the caller spreads into others at once
 * (`CacheManager.getCache` on every call): defining the view cost about 650 ns of a 900 ns coercion.
 * @internal
 */
export function coerceCacheOptions(
  params: CacheOptionsInput | Readonly<Record<string, unknown>>,
  keyOf: (option: string) => string = (option) => option,
): CacheOptions {
  return coerceWithRules(params, CACHE_RULES, keyOf);
}
