/**
 * `CacheManager`: caches, regions, cached functions and invalidation over pluggable back-ends.
 * Everything lives in the instance: regions, back-ends and cached functions of one manager are not shared with
 * another, and `close()` releases them.
 * @module
 */
import { LRUCache } from 'lru-cache';
import type { AnyBackend, BackendFactory } from '../backends/contract.js';
import { backendOptionsOf, type BackendDescriptor } from '../backends/define.js';
import { BackendRegistry } from '../backends/registry.js';
import { SharedLockChoice } from '../backends/shared-locks.js';
import { CACHE_LEVEL_OPTIONS } from '../config/cache-options.js';
import { optionNamesChecked, warnUnknownOptions } from '../config/parse.js';
import {
  CACHE_OPTION_NAMES,
  coerceCacheParams,
  type CacheOptionsInput,
  type CacheRegionOptions,
  type ParsedCacheConfig,
} from '../config/index.js';
import { coerceCacheOptions } from '../config/cache-options.js';
import {
  BeakerError,
  ConfigError,
  ManagerClosedError,
  NamespaceConflictError,
  RegionNotConfiguredError,
  isConfigurationError,
} from '../shared/errors.js';
import { KeyedMutex } from '../locks/keyed-mutex.js';
import { TwoStageLock } from '../locks/two-stage.js';
import { millisecondClock, systemTimers, type Timers } from '../shared/timers.js';
import { Cache } from './cache.js';
import { jsonEntryCodec, serializerEntryCodec, type EntryCodec } from './entry.js';
import { cacheWarnings, type CacheEventHandler } from './events.js';
import { CallKeys, DEFAULT_KEY_LENGTH, functionKey, limitKeyLength } from './keys.js';
import { invalidateTag, type TagInvalidation } from './tags.js';

/** Options of {@link CacheManager}: the output of `parseCacheConfigOptions`, plus what only code can give. */
export interface CacheManagerOptions extends ParsedCacheConfig {
  /** Back-ends to register at construction, by `type` name: descriptors (`defineBackend`) or plain factories. */
  backends?: Record<string, BackendDescriptor | BackendFactory>;
  /**
   * Receives problems that do not fail a call (undecodable values, lock timeouts, a store that is down).
   * Default: `process.emitWarning`, at most once per event type and back-end every 10 s.
   */
  onEvent?: CacheEventHandler;
  /**
   * Also send `onEvent` what the caches do: `hit`, `miss`, `stale`, `create` and `refresh` events, to count hit rates
   * or time creators from. Off, no such event is built, so a hit allocates nothing for it.
   * @default false
   */
  reportActivity?: boolean;
  /** The current time in ms since the epoch; inject a fake clock in tests. */
  clock?: () => number;
  /**
   * The clock and timers of creation locks, leases and waits (given to back-ends as `BackendContext.timers`);
   * inject fake ones in tests to advance time instead of sleeping. Default: the host's.
   */
  timers?: Timers;
  /**
   * Option names to accept without a warning: the options of back-ends you registered yourself. Any other unknown
   * option is passed to the back-end and reported with a `BeakerConfigWarning` naming the nearest known option.
   * @default []
   */
  knownOptions?: readonly string[];
}

/** What the manager's options may hold besides the cache options. */
const MANAGER_OPTIONS = [
  'backends',
  'onEvent',
  'reportActivity',
  'clock',
  'timers',
  'knownOptions',
  'cache_regions',
];

/** Options of a cached function. */
export interface CachedFunctionOptions extends CacheOptionsInput {
  /** The namespace of the function's entries. Default: its name (`Class.method` for methods). */
  namespace?: string;
  /** Chooses what identifies a call, from its arguments (default: all of them; `this` is never part of the key). */
  key?: (args: unknown[]) => unknown[];
}

/** A cached async function, with the same signature as the original. */
export type CachedFunction<F extends (...args: never[]) => unknown> = F;

/** Wraps a function, or decorates a class method (TypeScript 5 decorators). */
export interface CacheDecorator {
  <F extends (...args: never[]) => unknown>(fn: F, context?: ClassMethodDecoratorContext): F;
}

/** A part of a decorator's key prefix. */
export type KeyPart = string | number | boolean;

interface CachedFunctionInfo {
  namespace: () => string | undefined;
  keyParts: readonly KeyPart[];
  region: string | undefined;
  cacheFor: (namespace: string) => Cache | undefined;
  keyLength: number;
  /** Several calls at once, their cached values read in one batch: what {@link CacheManager.callMany} runs. */
  callMany: (thisArg: unknown, calls: readonly unknown[][]) => Promise<unknown[]>;
}

/** Calls the function a cached function wraps with a call's `this` and arguments. */
function callOf(fn: unknown, thisArg: unknown, args: unknown[]): unknown {
  return (fn as (...callArgs: unknown[]) => unknown).apply(thisArg, args);
}

/** What a cached function resolves at its first call: its cache (undefined when caching is off) and call keys. */
interface BoundFunction {
  cache: Cache | undefined;
  keys: CallKeys;
}

const DEFAULT_LOCK_TIMEOUT_SECONDS = 30;
/** Seconds after a failed creation (under `stale_if_error`) before anyone tries again. */
const DEFAULT_ERROR_BACKOFF_SECONDS = 10;

/** Seconds (or null) as milliseconds (or null). */
function millisecondsOf(seconds: number | null | undefined): number | null {
  return typeof seconds === 'number' ? seconds * 1000 : null;
}

/** One tag or several, checked. */
function tagList(tags: string | readonly string[]): readonly string[] {
  const list = typeof tags === 'string' ? [tags] : tags;
  for (const tag of list) {
    if (typeof tag !== 'string' || tag === '') {
      throw new ConfigError('A tag must be a non-empty string.', {
        option: 'tags',
        value: tag,
        expected: 'a non-empty string',
      });
    }
  }
  return list;
}
const MAX_MEMOISED_CACHES = 10_000;

/** Warns about the options given in code that no cache, region or back-end knows (as for flat keys). */
function warnUnknownCacheOptions(options: CacheManagerOptions, registry: BackendRegistry): void {
  const known = [...CACHE_OPTION_NAMES, ...registry.registeredOptionNames(), ...(options.knownOptions ?? [])];
  warnUnknownOptions(options, [...known, ...MANAGER_OPTIONS]);
  for (const [name, region] of Object.entries(options.cache_regions ?? {})) {
    warnUnknownOptions(region, known, undefined, `cache_regions.${name}.`);
  }
}

/** Splits `cache('prefix', 1, { expire: 60 })` arguments into key parts and options. */
function splitDecoratorArgs(parts: readonly (KeyPart | CachedFunctionOptions)[]): {
  keyParts: KeyPart[];
  options: CachedFunctionOptions;
} {
  const last = parts.at(-1);
  const hasOptions = typeof last === 'object';
  return {
    keyParts: (hasOptions ? parts.slice(0, -1) : parts) as KeyPart[],
    options: hasOptions ? last : {},
  };
}

/** The class that defines `method` as `wrapper`, found from an instance (or a class, for static methods). */
function definingClassName(thisArg: unknown, method: string | symbol, wrapper: unknown): string | undefined {
  let holder: unknown = typeof thisArg === 'function' ? thisArg : Object.getPrototypeOf(thisArg);
  while (holder !== null && holder !== undefined) {
    if (Object.getOwnPropertyDescriptor(holder, method)?.value === wrapper) {
      return typeof holder === 'function'
        ? holder.name
        : (holder as { constructor: { name: string } }).constructor.name;
    }
    holder = Object.getPrototypeOf(holder);
  }
  return undefined;
}

/**
 * Caches, regions and cached functions, configured as in Beaker.
 *
 * @example
 * const manager = new CacheManager(parseCacheConfigOptions({
 *   'cache.regions': 'short_term',
 *   'cache.short_term.type': 'memory',
 *   'cache.short_term.expire': '60',
 * }));
 * const loadUser = manager.region('short_term')(async function loadUser(id: number) { ... });
 */
export class CacheManager {
  readonly #defaults: CacheRegionOptions;
  readonly #regions: ReadonlyMap<string, CacheRegionOptions>;
  readonly #registry = new BackendRegistry();
  readonly #clock: () => number;
  readonly #onEvent: CacheEventHandler;
  /** `reportActivity`: caches report hits, misses and creations too. */
  readonly #reportsActivity: boolean;
  readonly #timers: Timers;
  readonly #mutex: KeyedMutex;
  readonly #backends = new Map<string, Promise<AnyBackend>>();
  /** The type and options of the store of every cache this manager made, by type and options. */
  readonly #storesOfCaches = new Map<string, { type: string; options: CacheRegionOptions }>();
  readonly #sharedLocks: SharedLockChoice;
  readonly #caches = new LRUCache<string, Cache>({ max: MAX_MEMOISED_CACHES });
  readonly #functions = new WeakMap<object, CachedFunctionInfo>();
  readonly #claimedNamespaces = new Map<string, unknown>();
  readonly #objectIds = new WeakMap<object, number>();
  #nextObjectId = 0;
  #closed = false;

  constructor(options: CacheManagerOptions = {}) {
    const {
      backends = {},
      onEvent,
      reportActivity = false,
      clock,
      timers,
      knownOptions: _known,
      cache_regions: regions = {},
      ...defaults
    } = options;
    this.#defaults = coerceCacheParams(defaults);
    this.#regions = new Map(
      Object.entries(regions).map(([name, region]) => [name, coerceCacheParams(region)]),
    );
    this.#clock = clock ?? millisecondClock();
    this.#timers = timers ?? systemTimers;
    this.#mutex = new KeyedMutex(this.#timers);
    this.#sharedLocks = new SharedLockChoice(this.#timers);
    this.#onEvent = onEvent ?? cacheWarnings(this.#clock);
    this.#reportsActivity = reportActivity;
    for (const [name, backend] of Object.entries(backends)) this.#registry.register(name, backend);
    if (!optionNamesChecked(options)) warnUnknownCacheOptions(options, this.#registry);
  }

  /**
   * Adds a back-end that `type` can name, for this manager only: a descriptor (`defineBackend`), or a plain factory,
   * which receives every option that is not the cache's own.
   */
  registerBackend(name: string, backend: BackendDescriptor | BackendFactory): void {
    this.#registry.register(name, backend);
  }

  /** The names of the configured regions. */
  get regions(): string[] {
    return [...this.#regions.keys()];
  }

  /**
   * The cache of `namespace`, with the manager's options overridden by `options`.
   * Throws {@link UnknownBackendError} for an unknown `type` and {@link ConfigError} for an invalid option.
   */
  getCache<V = unknown>(namespace: string, options: CacheOptionsInput = {}): Cache<V> {
    return this.#cacheFor(namespace, { ...this.#defaults, ...coerceCacheOptions(options) }) as Cache<V>;
  }

  /** The cache of `namespace` with the options of `region`. Throws {@link RegionNotConfiguredError}. */
  getCacheRegion<V = unknown>(namespace: string, region: string): Cache<V> {
    return this.#cacheFor(namespace, this.#regionOptions(region)) as Cache<V>;
  }

  /**
   * Caches a function (or a method) in `region`. Key parts are put in front of the arguments in each key; an
   * object as the last argument gives `{ namespace, key }`.
   *
   * @example
   * const search = manager.region('short_term', 'search')(async function search(term: string) { ... });
   *
   * class Repo {
   *   @manager.region('long_term')
   *   async load(id: number) { ... }
   * }
   */
  region(
    region: string,
    ...parts: (KeyPart | Pick<CachedFunctionOptions, 'namespace' | 'key'>)[]
  ): CacheDecorator {
    const options = this.#regionOptions(region);
    const { keyParts, options: functionOptions } = splitDecoratorArgs(parts);
    return this.#decorator(keyParts, functionOptions, region, (namespace) =>
      options.enabled === false ? undefined : this.#cacheFor(namespace, options),
    );
  }

  /**
   * Caches a function (or a method) with the manager's options, overridden by options given as the last argument.
   *
   * @example
   * const load = manager.cache('loader', { expire: 60 })(async function load(id: number) { ... });
   */
  cache(...parts: (KeyPart | CachedFunctionOptions)[]): CacheDecorator {
    const { keyParts, options } = splitDecoratorArgs(parts);
    const { namespace: _namespace, key: _key, ...cacheOptions } = options;
    const merged = { ...this.#defaults, ...coerceCacheOptions(cacheOptions) };
    return this.#decorator(keyParts, options, undefined, (namespace) =>
      merged.enabled === false ? undefined : this.#cacheFor(namespace, merged),
    );
  }

  /**
   * Removes the entry of one call of a region-cached function: `regionInvalidate(fn, undefined, ...args)` with the
   * call's arguments, or `regionInvalidate('namespace', 'region', ...keyParts, ...args)` by namespace.
   */
  async regionInvalidate(fnOrNamespace: object | string, region?: string, ...args: unknown[]): Promise<void> {
    if (typeof fnOrNamespace === 'string') {
      if (region === undefined)
        throw new BeakerError('E_INVALIDATE', 'Region or callable function namespace is required');
      const options = this.#regionOptions(region);
      const key = limitKeyLength(
        fnOrNamespace,
        functionKey([], args),
        options.key_length ?? DEFAULT_KEY_LENGTH,
      );
      await this.#cacheFor(fnOrNamespace, options).remove(key);
      return;
    }
    const info = this.#functionInfo(fnOrNamespace);
    const regionName = region ?? info.region;
    if (regionName === undefined) {
      throw new BeakerError('E_INVALIDATE', 'Region or callable function namespace is required');
    }
    await this.#removeCall(
      info,
      this.#cacheFor(this.#namespaceOf(info), this.#regionOptions(regionName)),
      args,
    );
  }

  /** Removes the entry of one call of a function cached with {@link cache} (or {@link region}): its arguments. */
  async invalidate(fn: object, ...args: unknown[]): Promise<void> {
    const info = this.#functionInfo(fn);
    const cache = info.cacheFor(this.#namespaceOf(info));
    if (cache) await this.#removeCall(info, cache, args);
  }

  /**
   * Opens every configured back-end (the global options' and each region's), so that a configuration that cannot
   * work fails at start-up rather than at the first call: rejects with {@link UnknownBackendError} for an unknown
   * `type`, {@link ConfigError} for an invalid back-end option (an unreadable `url`, say) and
   * {@link MissingDependencyError} for a client library that is not installed. A store that is only down does not
   * reject: it is reported as a `backend-error` event, and calls are served without it until it is back.
   *
   * @example
   * const caches = new CacheManager(parseCacheConfigOptions(config));
   * await caches.ready();
   */
  async ready(): Promise<void> {
    for (const options of [this.#defaults, ...this.#regions.values()]) {
      const type = options.type ?? 'memory';
      this.#registry.check(type);
      try {
        await this.#backendFor(type, options);
      } catch (error) {
        if (isConfigurationError(error)) throw error;
        this.#onEvent({
          type: 'backend-error',
          backend: type,
          namespace: '',
          key: '',
          message: `the cache store cannot be reached at start-up (${error instanceof Error ? error.message : String(error)}); calls are served without it until it is back`,
          error,
        });
      }
    }
  }

  /**
   * Removes expired entries and leftovers from every configured back-end (the global options' and each region's)
   * and any other this manager opened; resolves to how many.
   */
  async prune(): Promise<number> {
    let removed = 0;
    for (const backend of await this.#everyBackend()) removed += (await backend.prune?.()) ?? 0;
    return removed;
  }

  /**
   * Deletes every entry tagged `tags` (one tag or several), in every namespace of every back-end of this manager
   * (the global options', each region's and any other it opened), for every process and host that shares them: their
   * next read is a miss. It writes one token per tag and store; it scans nothing.
   *
   * @example
   * await caches.put('user:1', user, { tags: ['user:1'] });
   * await manager.deleteByTag('user:1');
   */
  async deleteByTag(tags: string | readonly string[]): Promise<void> {
    await this.#invalidateTags(tagList(tags), 'deleted');
  }

  /**
   * Makes every entry tagged `tags` stale, as {@link deleteByTag} reaches them, but keeps it: callers get the stale
   * value at once while one caller (across processes) creates the new one, as for an expired entry within `grace`.
   */
  async expireByTag(tags: string | readonly string[]): Promise<void> {
    await this.#invalidateTags(tagList(tags), 'expired');
  }

  /**
   * Calls a function cached by this manager once per argument list, reading the cached values in one batch where the
   * store has one (Redis `MGET`, a memcached multi-get, one SQL `IN`); each missing value is created by its own call,
   * with its own dog-pile protection. `thisArg` is the `this` of a cached method's calls.
   *
   * @example
   * const [alice, bob] = await manager.callMany(loadUser, [[1], [2]]);
   */
  async callMany<F extends (...args: never[]) => unknown>(
    fn: F,
    calls: readonly Parameters<F>[],
    thisArg?: unknown,
  ): Promise<Awaited<ReturnType<F>>[]> {
    const info = this.#functionInfo(fn);
    return (await info.callMany(thisArg, calls)) as Awaited<ReturnType<F>>[];
  }

  async #invalidateTags(tags: readonly string[], invalidation: TagInvalidation): Promise<void> {
    const backends = await this.#everyBackend();
    await Promise.all(
      backends.flatMap((backend) => tags.map((tag) => invalidateTag(backend, tag, invalidation))),
    );
  }

  /**
   * Every back-end of this manager, opened: the global options', each region's, and that of every cache and cached
   * function it made, used yet or not.
   */
  async #everyBackend(): Promise<AnyBackend[]> {
    if (this.#closed) throw new ManagerClosedError();
    for (const options of [this.#defaults, ...this.#regions.values()]) {
      await this.#backendFor(options.type ?? 'memory', options);
    }
    for (const { type, options } of [...this.#storesOfCaches.values()]) {
      // A cache whose options cannot open a store has no entries to invalidate (its own calls report the mistake).
      try {
        await this.#backendFor(type, options);
      } catch (error) {
        if (!isConfigurationError(error)) throw error;
      }
    }
    return [...new Set(await Promise.all(this.#backends.values()))];
  }

  /** Closes every back-end this manager opened. The manager cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const backends = await Promise.allSettled(this.#backends.values());
    await Promise.all(
      backends.map((result) => (result.status === 'fulfilled' ? result.value.close() : Promise.resolve())),
    );
    this.#backends.clear();
    this.#caches.clear();
  }

  #regionOptions(region: string): CacheRegionOptions {
    const options = this.#regions.get(region);
    if (!options) throw new RegionNotConfiguredError(region, this.regions);
    return options;
  }

  #cacheFor(namespace: string, options: CacheRegionOptions): Cache {
    if (this.#closed) throw new ManagerClosedError();
    const type = options.type ?? 'memory';
    this.#registry.check(type);
    const optionsKey = this.#optionsKey(options);
    const memoKey = `${namespace.length}:${namespace}${optionsKey}`;
    let cache = this.#caches.get(memoKey);
    if (!cache) {
      cache = this.#newCache(namespace, type, options);
      this.#caches.set(memoKey, cache);
      // Tag invalidations reach the store of every cache made, opened yet or not.
      this.#storesOfCaches.set(`${type}\u0000${optionsKey}`, { type, options });
    }
    return cache;
  }

  #newCache(namespace: string, type: string, options: CacheRegionOptions): Cache {
    const backend = (): Promise<AnyBackend> => this.#backendFor(type, options);
    const starttime = options.starttime ?? null;
    return new Cache({
      namespace,
      backendType: type,
      backend,
      codec: this.#codecFor(options),
      expire: options.expiretime || options.expire || null,
      starttimeMs: starttime === null ? null : starttime * 1000,
      enabled: options.enabled !== false,
      graceSeconds: typeof options.grace === 'number' ? options.grace : null,
      lockTimeoutMs:
        (typeof options.lock_timeout === 'number' ? options.lock_timeout : DEFAULT_LOCK_TIMEOUT_SECONDS) *
        1000,
      softTimeoutMs: millisecondsOf(options.soft_timeout),
      hardTimeoutMs: millisecondsOf(options.hard_timeout),
      staleIfErrorMs: millisecondsOf(options.stale_if_error),
      errorBackoffMs: millisecondsOf(options.error_backoff) ?? DEFAULT_ERROR_BACKOFF_SECONDS * 1000,
      refreshAheadMs: millisecondsOf(options.refresh_ahead),
      tags: options.tags ?? [],
      timers: this.#timers,
      reportsActivity: this.#reportsActivity,
      locks: async () =>
        new TwoStageLock(
          this.#mutex,
          this.#sharedLocks.for(await backend(), this.#registry.descriptor(type), options.lock_dir),
          this.#timers,
        ),
      clock: this.#clock,
      onEvent: this.#onEvent,
    });
  }

  #codecFor(options: CacheRegionOptions): EntryCodec {
    const serializer = options.data_serializer;
    return serializer === undefined || serializer === 'json'
      ? jsonEntryCodec
      : serializerEntryCodec(serializer);
  }

  /**
   * The key of the store that `type` and `options` open, the store recorded: tag invalidations reach every store a
   * cache of this manager may open, opened yet or not.
   */
  #storeKey(
    type: string,
    options: CacheRegionOptions,
  ): { key: string; backendOptions: Record<string, unknown> } {
    const descriptor = this.#registry.descriptor(type);
    const backendOptions = backendOptionsOf(descriptor, options, CACHE_LEVEL_OPTIONS);
    const key = `${type}\u0000${this.#optionsKey(backendOptions)}`;
    if (!this.#storesOfCaches.has(key)) this.#storesOfCaches.set(key, { type, options });
    return { key, backendOptions };
  }

  #backendFor(type: string, options: CacheRegionOptions): Promise<AnyBackend> {
    const descriptor = this.#registry.descriptor(type);
    const { key, backendOptions } = this.#storeKey(type, options);
    let backend = this.#backends.get(key);
    if (!backend) {
      backend = Promise.resolve().then(() =>
        descriptor.create(backendOptions, {
          clock: this.#clock,
          timers: this.#timers,
          report: this.#onEvent,
        }),
      );
      // A failed creation is not memoised: the next call tries again (a server may be back).
      backend.catch(() => this.#backends.delete(key));
      this.#backends.set(key, backend);
    }
    return backend;
  }

  /** A stable text for a set of options; objects (clients, serializers) count by identity. */
  #optionsKey(options: object): string {
    const values = options as Readonly<Record<string, unknown>>;
    const entries = Object.keys(values)
      .sort()
      .map((name) => {
        const value = values[name];
        if (
          typeof value === 'object' &&
          value !== null &&
          !(value instanceof Date) &&
          !Array.isArray(value)
        ) {
          return [name, `#${this.#objectId(value)}`];
        }
        return [name, value instanceof Date ? value.getTime() : value];
      });
    return JSON.stringify(entries);
  }

  #objectId(value: object): number {
    let id = this.#objectIds.get(value);
    if (id === undefined) {
      id = this.#nextObjectId += 1;
      this.#objectIds.set(value, id);
    }
    return id;
  }

  #decorator(
    keyParts: readonly KeyPart[],
    options: CachedFunctionOptions,
    region: string | undefined,
    cacheFor: (namespace: string) => Cache | undefined,
  ): CacheDecorator {
    const keyLength =
      (region === undefined
        ? coerceCacheOptions({ key_length: options.key_length }).key_length
        : undefined) ??
      (region === undefined ? this.#defaults.key_length : this.#regionOptions(region).key_length) ??
      DEFAULT_KEY_LENGTH;
    return <F extends (...args: never[]) => unknown>(fn: F, context?: ClassMethodDecoratorContext): F => {
      if (context !== undefined && context.kind !== 'method') {
        throw new TypeError(`cache decorators apply to methods, not to a ${String(context.kind)}`);
      }
      let namespace = options.namespace ?? (context ? undefined : fn.name || undefined);
      if (namespace === undefined && !context) {
        throw new ConfigError('A cached function needs a name or a namespace.', {
          option: 'namespace',
          expected: 'a name for the function’s entries, such as { namespace: "loadUser" }',
        });
      }
      const claim = (name: string, owner: unknown): void => {
        // Only derived names can collide by accident; an explicit namespace may be shared on purpose.
        if (options.namespace === undefined) this.#claimNamespace(name, keyParts, owner);
      };
      // A decorated function's namespace never changes once known (a method's is found at its first call, from the
      // class that defines it): its cache and its call keys are found once, not on every call, where resolving the
      // cache would sort and serialize the options each time. A failure (an unknown type) is not kept: the next call
      // tries again.
      let bound: BoundFunction | undefined;
      const bindTo = (thisArg: unknown): BoundFunction => {
        if (this.#closed) throw new ManagerClosedError();
        if (bound !== undefined) return bound;
        if (namespace === undefined && context) {
          const owner = definingClassName(thisArg, context.name, wrapper) ?? 'anonymous';
          namespace = `${owner}.${String(context.name)}`;
          claim(namespace, fn);
        }
        const name = namespace as string;
        bound = { cache: cacheFor(name), keys: new CallKeys(name, keyParts, keyLength) };
        return bound;
      };
      // Not an async function: a hit then costs the cache's own resolved promise, not another one around it.
      const wrapper = function cachedFunction(this: unknown, ...args: unknown[]): Promise<unknown> {
        try {
          const { cache, keys } = bindTo(this);
          if (!cache) return Promise.resolve(callOf(fn, this, args));
          const key = keys.keyOf(options.key ? options.key(args) : args);
          return cache.get(key, { createfunc: () => callOf(fn, this, args) });
        } catch (error) {
          return Promise.reject(error instanceof Error ? error : new Error(String(error)));
        }
      };
      const callMany = async (thisArg: unknown, calls: readonly unknown[][]): Promise<unknown[]> => {
        if (context !== undefined && !context.static && (thisArg === undefined || thisArg === null)) {
          throw new BeakerError(
            'E_CALL_MANY',
            `callMany of the cached method ${String(context.name)} needs the instance: callMany(obj.${String(context.name)}, calls, obj)`,
          );
        }
        const { cache, keys } = bindTo(thisArg);
        if (!cache) return Promise.all(calls.map((args) => callOf(fn, thisArg, args)));
        const argsOf = new Map<string, unknown[]>();
        const callKeys = calls.map((args) => {
          const key = keys.keyOf(options.key ? options.key(args) : args);
          argsOf.set(key, args);
          return key;
        });
        return cache.getMany(callKeys, { createfunc: (key) => callOf(fn, thisArg, argsOf.get(key) ?? []) });
      };
      const info: CachedFunctionInfo = {
        namespace: () => namespace,
        keyParts,
        region,
        cacheFor,
        keyLength,
        callMany,
      };
      Object.defineProperty(wrapper, 'name', { value: fn.name });
      if (namespace !== undefined) claim(namespace, fn);
      this.#functions.set(wrapper, info);
      return wrapper as unknown as F;
    };
  }

  #claimNamespace(namespace: string, keyParts: readonly KeyPart[], fn: unknown): void {
    const claimKey = `${namespace}\u0000${JSON.stringify(keyParts)}`;
    const owner = this.#claimedNamespaces.get(claimKey);
    if (owner !== undefined && owner !== fn) throw new NamespaceConflictError(namespace);
    this.#claimedNamespaces.set(claimKey, fn);
  }

  #callKey(info: CachedFunctionInfo, namespace: string, args: readonly unknown[]): string {
    return limitKeyLength(namespace, functionKey(info.keyParts, args), info.keyLength);
  }

  #functionInfo(fn: object): CachedFunctionInfo {
    const info = this.#functions.get(fn);
    if (!info) throw new BeakerError('E_INVALIDATE', 'This function was not cached by this manager.');
    return info;
  }

  #namespaceOf(info: CachedFunctionInfo): string {
    const namespace = info.namespace();
    if (namespace === undefined) {
      throw new BeakerError(
        'E_INVALIDATE',
        'This cached method has not been called yet, so its namespace is not known: give it a { namespace }.',
      );
    }
    return namespace;
  }

  async #removeCall(info: CachedFunctionInfo, cache: Cache, args: readonly unknown[]): Promise<void> {
    await cache.remove(this.#callKey(info, cache.namespace, args));
  }
}
