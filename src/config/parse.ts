/**
 * Reading Beaker's flat, prefixed configuration dictionaries: `beaker.cache.*`/`cache.*` into cache and
 * region options, `beaker.session.*`/`session.*` into session options.
 * @module
 */
import {
  CACHE_OPTION_NAMES,
  DEFAULT_CACHE_KEY_LENGTH,
  coerceCacheParams,
  type CacheRegionOptions,
  type ParsedCacheConfig,
} from './cache-options.js';
import { SESSION_OPTION_NAMES, coerceSessionParams, type SessionOptions } from './session-options.js';
import { withRedactedView } from './redact.js';
import { nearestName } from '../shared/suggest.js';
import { emitProcessWarning, type ConfigWarningHandler } from '../shared/warnings.js';

/** Options of {@link parseCacheConfigOptions} and {@link parseSessionConfigOptions}. */
export interface ParseConfigOptions {
  /**
   * Start from Beaker's defaults (`type = memory` and `enabled = true` for caches; the middleware defaults for
   * sessions). `false` returns only what the configuration gives, to lay over another configuration.
   * @default true
   */
  includeDefaults?: boolean;
  /**
   * Receives warnings about unknown or misspelled keys and deprecated prefixes.
   * @default a handler that calls `process.emitWarning`
   */
  onWarning?: ConfigWarningHandler;
  /**
   * Option names to accept without a warning: the options of back-ends you registered yourself.
   * @default []
   */
  knownOptions?: readonly string[];
}

/** A flat configuration: keys such as `cache.type` or `beaker.session.secret`, values as strings or typed. */
export type FlatConfig = Readonly<Record<string, unknown>>;

interface Prefix {
  prefix: string;
  /** The warning to give when this prefix is used, for deprecated ones. */
  deprecation?: string;
}

/** The options found under some prefixes, by short name, and the key each came from. */
interface Collected {
  options: Record<string, unknown>;
  keys: Map<string, string>;
}

// Beaker collects `sa.*` options only from a ready-made `sa_opts` dict; flat `session.sa.url` keys were lost.
const SA_PREFIX = 'sa.';

function collectPrefixed(
  config: FlatConfig,
  prefixes: readonly Prefix[],
  warn: ConfigWarningHandler,
): Collected {
  const options: Record<string, unknown> = {};
  const keys = new Map<string, string>();
  for (const [key, value] of Object.entries(config)) {
    const match = prefixes.find(({ prefix }) => key.startsWith(prefix));
    if (!match) continue;
    if (match.deprecation) warn({ code: 'BEAKER_DEPRECATED_PREFIX', key, message: match.deprecation });
    const option = key.slice(match.prefix.length);
    if (option.startsWith(SA_PREFIX)) {
      options.sa_opts = { ...(options.sa_opts as Record<string, unknown> | undefined), [option]: value };
      keys.set('sa_opts', key);
      continue;
    }
    options[option] = value;
    keys.set(option, key);
  }
  return { options, keys };
}

function keyLookup(keys: ReadonlyMap<string, string>): (option: string) => string {
  return (option) => keys.get(option) ?? option;
}

function warnUnknown(
  key: string,
  option: string,
  known: readonly string[],
  warn: ConfigWarningHandler,
): void {
  const nearest = nearestName(option, known);
  const advice =
    nearest === undefined ? '' : ` Did you mean "${key.slice(0, key.length - option.length)}${nearest}"?`;
  warn({
    code: 'BEAKER_UNKNOWN_OPTION',
    key,
    message: `Unknown option "${key}": neither beaker-ts nor a back-end declares it, so only a back-end registered as a plain factory receives it.${advice}`,
  });
}

/** Set on what the parse functions return: its option names were checked there, under the keys the user wrote. */
const NAMES_CHECKED = Symbol('beaker-ts: option names checked');

function markNamesChecked<T extends object>(options: T): T {
  Object.defineProperty(options, NAMES_CHECKED, { value: true });
  return options;
}

/**
 * Did `options` come from {@link parseCacheConfigOptions} or {@link parseSessionConfigOptions} as they returned it?
 * Then its option names were checked there, and warned about with the keys as the user wrote them.
 */
export function optionNamesChecked(options: object): boolean {
  return NAMES_CHECKED in options;
}

/**
 * Warns, as for a flat key, about each option of `options` (given in code, where JavaScript has no type check) that
 * is not in `known`, with the nearest known name.
 *
 * @param where put before each name in the warning, such as `cache_regions.short_term.`
 */
export function warnUnknownOptions(
  options: object,
  known: readonly string[],
  onWarning: ConfigWarningHandler = emitProcessWarning,
  where = '',
): void {
  for (const option of Object.keys(options)) {
    if (!known.includes(option)) warnUnknown(`${where}${option}`, option, known, onWarning);
  }
}

const CACHE_DEFAULTS = { type: 'memory', data_dir: null, expire: null, log_file: null } as const;

/**
 * Reads the cache options of a flat configuration (Beaker's `parse_cache_config_options`): keys starting with
 * `beaker.cache.` or `cache.` are coerced and validated, other keys are ignored. When `regions` names regions, each
 * gets its own options under `cache_regions`, inheriting `type`, `data_dir`, `lock_dir`, `expire`, `enabled`,
 * `key_length`, `soft_timeout`, `hard_timeout`, `stale_if_error`, `error_backoff` and `refresh_ahead` from the global options and overriding them with its `cache.<region>.<option>` keys.
 *
 * Throws a {@link ConfigError} for an invalid value; warns about unknown or misspelled keys.
 *
 * @example
 * parseCacheConfigOptions({
 *   'cache.type': 'file',
 *   'cache.data_dir': '/tmp/cache/data',
 *   'cache.regions': 'short_term, long_term',
 *   'cache.short_term.expire': '60',
 * });
 */
export function parseCacheConfigOptions(
  config: FlatConfig,
  parseOptions: ParseConfigOptions = {},
): ParsedCacheConfig {
  const { includeDefaults = true, onWarning = emitProcessWarning, knownOptions = [] } = parseOptions;
  const known = [...CACHE_OPTION_NAMES, ...knownOptions];
  const collected = collectPrefixed(config, [{ prefix: 'beaker.cache.' }, { prefix: 'cache.' }], onWarning);
  const keyOf = keyLookup(collected.keys);
  const options: Record<string, unknown> = {
    ...coerceCacheParams({ ...(includeDefaults ? CACHE_DEFAULTS : {}), ...collected.options }, keyOf),
  };
  if (!('enabled' in options) && includeDefaults) options.enabled = true;

  const { regions, ...globalOptions } = options as { regions?: string[] | null } & Record<string, unknown>;
  const regionNames = [...new Set((regions ?? []).map((name) => name.trim()).filter((name) => name !== ''))];
  const regionOf = (option: string): string | undefined =>
    regionNames.find((name) => option.startsWith(`${name}.`));
  const result: ParsedCacheConfig = Object.fromEntries(
    Object.entries(globalOptions).filter(([option]) => regionOf(option) === undefined),
  );
  // Beaker: a `regions` that is given (even '') yields `cache_regions`; an absent or empty list does not.
  if (regions && regions.length > 0) {
    result.cache_regions = Object.fromEntries(
      regionNames.map((region) => [region, regionOptions(region, globalOptions, keyOf, known, onWarning)]),
    );
  }
  warnUnknownCacheKeys(result, regionNames, collected.keys, known, onWarning);
  return markNamesChecked(withRedactedView(result));
}

/** Options beyond Beaker's that regions inherit from the global cache options. */
const INHERITED_CREATION_OPTIONS = [
  'soft_timeout',
  'hard_timeout',
  'stale_if_error',
  'error_backoff',
  'refresh_ahead',
] as const;

/** Builds one region's options: the inherited global ones, overridden by its `<region>.<option>` keys. */
function regionOptions(
  region: string,
  globalOptions: Readonly<Record<string, unknown>>,
  keyOf: (option: string) => string,
  known: readonly string[],
  warn: ConfigWarningHandler,
): CacheRegionOptions {
  const inherited: Record<string, unknown> = {
    data_dir: globalOptions.data_dir ?? null,
    lock_dir: globalOptions.lock_dir ?? null,
    enabled: globalOptions.enabled ?? true,
    expire: globalOptions.expire ?? null,
    key_length: globalOptions.key_length ?? DEFAULT_CACHE_KEY_LENGTH,
  };
  // The creation options beyond Beaker's are inherited too: one `cache.hard_timeout` bounds every region's creators.
  for (const option of INHERITED_CREATION_OPTIONS) {
    if (globalOptions[option] !== undefined) inherited[option] = globalOptions[option];
  }
  // Beaker copies a missing type as None, which then becomes the string "None".
  if (globalOptions.type !== undefined) inherited.type = globalOptions.type;
  const prefix = `${region}.`;
  for (const [name, value] of Object.entries(globalOptions)) {
    if (!name.startsWith(prefix)) continue;
    const option = name.slice(prefix.length);
    if (option === 'regions' || !known.includes(option)) warnUnknown(keyOf(name), option, known, warn);
    inherited[option] = value;
  }
  return coerceCacheParams(inherited, (option) => keyOf(`${prefix}${option}`));
}

function warnUnknownCacheKeys(
  options: object,
  regionNames: readonly string[],
  keys: ReadonlyMap<string, string>,
  known: readonly string[],
  warn: ConfigWarningHandler,
): void {
  for (const option of Object.keys(options)) {
    const key = keys.get(option);
    if (key === undefined || known.includes(option)) continue;
    const dot = option.indexOf('.');
    if (dot < 0) {
      warnUnknown(key, option, known, warn);
      continue;
    }
    const region = option.slice(0, dot);
    const nearest = nearestName(region, regionNames);
    const declared = regionNames.length > 0 ? regionNames.join(', ') : 'none';
    warn({
      code: 'BEAKER_UNKNOWN_REGION',
      key,
      message:
        `Option "${key}" is for region "${region}", which is not in cache.regions (declared: ${declared}); it is ignored.` +
        (nearest === undefined
          ? ` Add "${region}" to cache.regions to configure it.`
          : ` Did you mean "${nearest}"?`),
    });
  }
}

/** The defaults of Beaker's SessionMiddleware, which the configuration overrides. */
const SESSION_DEFAULTS = {
  invalidate_corrupt: true,
  type: null,
  data_dir: null,
  key: 'beaker.session.id',
  timeout: null,
  save_accessed_time: true,
  secret: null,
  log_file: null,
} as const;

/**
 * Reads the session options of a flat configuration as Beaker's SessionMiddleware does: keys starting with
 * `beaker.session.` or `session.` (and the deprecated `session_`) are coerced and validated over the middleware's
 * defaults; other keys are ignored. Flat `session.sa.*` keys are collected into `sa_opts`.
 *
 * Throws a {@link ConfigError} for an invalid value; warns about unknown or misspelled keys.
 *
 * @example
 * parseSessionConfigOptions({ 'beaker.session.type': 'file', 'beaker.session.data_dir': './data/sessions' });
 */
export function parseSessionConfigOptions(
  config: FlatConfig,
  parseOptions: ParseConfigOptions = {},
): SessionOptions {
  const { includeDefaults = true, onWarning = emitProcessWarning, knownOptions = [] } = parseOptions;
  const known = [...SESSION_OPTION_NAMES, ...knownOptions];
  const collected = collectPrefixed(
    config,
    [
      { prefix: 'beaker.session.' },
      { prefix: 'session.' },
      {
        prefix: 'session_',
        deprecation: 'Session options should start with session. instead of session_.',
      },
    ],
    onWarning,
  );
  for (const option of Object.keys(collected.options)) {
    const key = collected.keys.get(option);
    if (key !== undefined && option !== 'sa_opts' && !known.includes(option)) {
      warnUnknown(key, option, known, onWarning);
    }
  }
  return markNamesChecked(
    coerceSessionParams(
      { ...(includeDefaults ? SESSION_DEFAULTS : {}), ...collected.options },
      keyLookup(collected.keys),
    ),
  );
}
