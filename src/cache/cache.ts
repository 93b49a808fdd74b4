/**
 * `Cache`: one namespace of a back-end, with expiry, `starttime`, `enabled` and dog-pile protection: a missing
 * or expired value is created once, by one caller, while the others wait for it or get the stale value.
 * @module
 */
import {
  getEntries,
  roundedTtlMs,
  type AnyBackend,
  type Backend,
  type ObjectBackend,
} from '../backends/contract.js';
import { forEachBounded } from '../backends/kit/bounded.js';
import { isConfigurationError, SynchronousReadError } from '../shared/errors.js';
import { BoundedMap } from '../shared/bounded-map.js';
import { withinTime, type Timers } from '../shared/timers.js';
import { entryLockName, type LockHandle, type LockProvider } from '../locks/contract.js';
import { runCreation, type CreateFunction, type CreationContext } from './creation.js';
import type { CacheEventHandler } from './events.js';
import { isFresh, jsonEntryCodec, type CacheEntry, type EntryCodec, type TagStamps } from './entry.js';
import {
  mergedTags,
  stampsForWrite,
  TagTokenKeys,
  tagVerdict,
  tokensOf,
  verdictOf,
  type CurrentTokens,
  type TagVerdict,
} from './tags.js';

export type { CreateFunction, CreationContext } from './creation.js';

/** How many entries {@link Cache.keys} reads at once to check their freshness. */
const KEYS_READ_CONCURRENCY = 32;

/** Options of {@link Cache.get}. */
export interface CacheGetOptions<V> {
  /**
   * Creates the value when the key is missing or expired; without it, such a key is a miss (`undefined`). It
   * receives a {@link CreationContext}: an `AbortSignal`, the stale value, and ways to set the entry's expiry and
   * tags or not to store it.
   */
  createfunc?: CreateFunction<V>;
  /** Seconds a value created by this call stays fresh (default: the cache's `expire`); `null` keeps it forever. */
  expiretime?: number | null;
  /** Tags of a value created by this call, besides the cache's own `tags`. */
  tags?: readonly string[];
}

/** Options of {@link Cache.getMany}. */
export interface CacheGetManyOptions<V> {
  /** Creates the value of one missing or expired key; without it such keys are misses (`undefined`). */
  createfunc?: (key: string, context: CreationContext<V>) => V | Promise<V>;
  /** As {@link CacheGetOptions.expiretime}, for every value created by this call. */
  expiretime?: number | null;
  /** As {@link CacheGetOptions.tags}, for every value created by this call. */
  tags?: readonly string[];
}

/** Options of {@link Cache.put}. */
export interface CachePutOptions {
  /** Seconds the value stays fresh (default: the cache's `expire`); `null` keeps it forever. */
  expiretime?: number | null;
  /** Tags of the entry, besides the cache's own `tags`: `deleteByTag` and `expireByTag` invalidate by them. */
  tags?: readonly string[];
}

/**
 * What the cache did in this process since it was built: a plain snapshot from {@link Cache.stats}.
 * Each `get` (and each key of a `getMany`) counts once as a hit or a miss; `put`, `has` and `keys` count nothing.
 */
export interface CacheStats {
  /** Reads answered with a fresh stored value. */
  hits: number;
  /** Reads that found no fresh value: missing, expired, invalidated by a tag, unreadable, or caching disabled. */
  misses: number;
  /** Runs of a `createfunc`: the values this process created (or tried to). */
  creations: number;
  /** Reads answered with an expired value while a new one was being created, or after a creation failed. */
  staleServes: number;
  /** Creations that finished in the background, after their callers got the stale value. */
  refreshes: number;
  /** Callers that waited for another caller's creation (and got its value, or gave up at `lock_timeout`). */
  lockWaits: number;
  /** Creators that threw or passed `hard_timeout`, and store reads or writes that failed. */
  errors: number;
}

/** What a {@link Cache} is built from; the manager assembles it. */
export interface CacheSettings {
  namespace: string;
  /** The configured `type`, which names the back-end in events before it is opened. */
  backendType: string;
  /** Resolves to the back-end (built on first use). */
  backend: () => Promise<AnyBackend>;
  codec: EntryCodec;
  /** Seconds values stay fresh, or null. */
  expire: number | null;
  /** Entries stored before this time (ms since the epoch) count as expired; null: none. */
  starttimeMs: number | null;
  /** When false, nothing is stored or read: `get` calls `createfunc` every time. */
  enabled: boolean;
  /** Seconds an expired value is kept for serve-stale before the store drops it; null: as long as `expire`. */
  graceSeconds: number | null;
  /** Longest wait for another caller's creation, in ms; after it the caller creates the value itself. */
  lockTimeoutMs: number;
  /**
   * With a stale value, how long the caller that creates the new one waits for it before it gets the stale value
   * (the creation then finishes in the background), in ms; 0: at once (stale-while-revalidate); null: until done.
   */
  softTimeoutMs: number | null;
  /** A creator still running after this many ms is abandoned and its call fails; null: never. */
  hardTimeoutMs: number | null;
  /** How long after expiry a creator's failure is answered with the stale value, in ms; null: never. */
  staleIfErrorMs: number | null;
  /** After such a failure, how long every caller gets the stale value before one tries again, in ms. */
  errorBackoffMs: number;
  /** A hit this close to its expiry (ms) starts a background refresh; null: none. */
  refreshAheadMs: number | null;
  /** Tags of every entry this cache writes. */
  tags: readonly string[];
  /** The creation locks (in-process, then cross-process). */
  locks: () => Promise<LockProvider>;
  clock: () => number;
  /** The timers of soft and hard timeouts. */
  timers: Timers;
  onEvent: CacheEventHandler;
  /** Report hits, misses and creations too (the manager's `reportActivity`). */
  reportsActivity: boolean;
}

/** Where a read leaves a key: a fresh value, a stale one (expired, or by a tag), or none. */
type Standing = 'fresh' | 'stale' | 'gone';

/** One creation to make: its creator and what its entry gets. */
interface Creation<V> {
  createfunc: CreateFunction<V>;
  expire: number | null;
  tags: readonly string[] | undefined;
}

/** An entry read again under the lock: what it is, where it stands, and whether the store failed to read it. */
interface Reread {
  entry: CacheEntry | undefined;
  standing: Standing;
  failed: boolean;
}

/** How many keys whose refresh ahead failed one cache remembers (each until its back-off ends). */
const MAX_REMEMBERED_REFRESH_FAILURES = 10_000;

/** The stamps of an entry's tags, each tag once (the first stamp read wins). */
function uniqueStamps(stamps: TagStamps): TagStamps {
  const byTag = new Map<string, TagStamps[number]>();
  for (const stamp of stamps) if (!byTag.has(stamp[0])) byTag.set(stamp[0], stamp);
  return [...byTag.values()];
}

/** Whether a creation's result went to a waiting caller or finished in the background. */
interface CreationDelivery {
  background: boolean;
}

/**
 * One namespace of cached values.
 *
 * @example
 * const users = manager.getCache<User>('users', { expire: 60 });
 * const user = await users.get(id, { createfunc: () => db.loadUser(id) });
 */
export class Cache<V = unknown> {
  readonly namespace: string;
  readonly #settings: CacheSettings;
  /** The back-end once resolved: the hot path then reads it without waiting on a promise. */
  #backend: AnyBackend | undefined;
  /**
   * Entries go to the back-end as objects (an in-process store that keeps values), not as the codec's text. A store
   * that copies values copies them as the default codec would, so a cache with its own serializer writes text there.
   */
  #storesObjects = false;
  readonly #stats: CacheStats = {
    hits: 0,
    misses: 0,
    creations: 0,
    staleServes: 0,
    refreshes: 0,
    lockWaits: 0,
    errors: 0,
  };
  /** The store keys of the tokens of the tags this cache reads. */
  readonly #tagKeys = new TagTokenKeys();
  /** The creations (or waits for another's) of keys that have no value, one per key in this process. */
  readonly #coldWaits = new Map<string, Promise<V>>();
  /** Keys this process is refreshing ahead of their expiry, so that each hit does not try again. */
  readonly #refreshingAhead = new Set<string>();
  /** Keys whose refresh ahead failed, with when to try again (`error_backoff`). */
  readonly #refreshAheadFailures = new BoundedMap<string, number>(MAX_REMEMBERED_REFRESH_FAILURES);

  constructor(settings: CacheSettings) {
    this.namespace = settings.namespace;
    this.#settings = settings;
  }

  async #resolveBackend(): Promise<AnyBackend> {
    if (this.#backend === undefined) {
      const backend = await this.#settings.backend();
      this.#storesObjects =
        backend.format === 'object' && (backend.copies !== true || this.#settings.codec === jsonEntryCodec);
      this.#backend = backend;
    }
    return this.#backend;
  }

  /**
   * Opens the cache's store now rather than at the first call (which otherwise does it), so that {@link peek} can
   * answer; a store that cannot be opened rejects.
   */
  async open(): Promise<void> {
    await this.#resolveBackend();
  }

  /** Seconds values stay fresh by default, or null for never expiring. */
  get expire(): number | null {
    return this.#settings.expire;
  }

  /** Is caching on for this cache? */
  get enabled(): boolean {
    return this.#settings.enabled;
  }

  /**
   * What this cache did in this process since it was built (other processes sharing the store count their own).
   *
   * @returns A copy: later calls do not change it.
   */
  stats(): CacheStats {
    return { ...this.#stats };
  }

  /**
   * The value of `key`. A fresh value is returned at once. Otherwise, with a `createfunc`, one caller (across
   * processes when the back-end is shared) creates the value: while an expired value exists the other callers get
   * it at once; when none exists they wait for the creator and then read its value. Without a `createfunc`, a
   * missing or expired key gives `undefined`.
   *
   * The cache's options decide the rest: `soft_timeout` (how long the creating caller waits before it too gets the
   * stale value), `hard_timeout` (when a creator is abandoned), `stale_if_error` (a failing creator's callers get the
   * stale value) and `refresh_ahead` (a hit close to expiry refreshes in the background).
   */
  get(key: string, options?: CacheGetOptions<V>): Promise<V | undefined> {
    const backend = this.#backend;
    if (backend?.peek === undefined || !this.#settings.enabled) return this.#getOtherwise(key, options);
    // A store in this process answers at once: a hit costs one resolved promise. This path is kept small, so that
    // the engine inlines it where it is called (a cached function's wrapper) and the call's options object and
    // creator closure are never allocated.
    let data: unknown;
    try {
      data = backend.peek(this.namespace, key);
    } catch (error) {
      return this.#afterReadFailure(key, options?.createfunc, error);
    }
    const entry = this.#decode(backend, key, data);
    if (entry?.tags === undefined && this.#isHit(key, entry)) {
      return Promise.resolve(
        this.#settings.refreshAheadMs === null ? (entry.value as V) : this.#hit(key, entry, options),
      );
    }
    return this.#answerOtherwise(backend, key, entry, options);
  }

  /** {@link get} of a cache that is disabled, whose store is not open yet, or whose store is outside this process. */
  #getOtherwise(key: string, options: CacheGetOptions<V> | undefined): Promise<V | undefined> {
    if (!this.#settings.enabled) {
      this.#countMiss(key);
      return this.#createUncached(key, options?.createfunc);
    }
    const backend = this.#backend;
    if (backend === undefined) {
      return this.#resolveBackend().then(
        () => this.get(key, options),
        (error: unknown) => this.#afterReadFailure(key, options?.createfunc, error),
      );
    }
    // The hit path is one `.then` on the back-end's read (no async wrapper): it runs on every cached call.
    return this.#getRaw(backend, key).then(
      (data) => {
        const entry = this.#decode(backend, key, data);
        if (entry?.tags !== undefined) return this.#answerTagged(backend, key, entry, entry.tags, options);
        return this.#isHit(key, entry)
          ? this.#hit(key, entry, options)
          : this.#afterMiss(key, entry, options);
      },
      (error: unknown) => this.#afterReadFailure(key, options?.createfunc, error),
    );
  }

  /**
   * The values of `keys`, in their order: the stored entries are read in one batch where the store has one (Redis
   * `MGET`, a memcached multi-get, one SQL `IN`), else one read per key. With a `createfunc`, each missing or expired
   * key is then created as {@link get} would create it, with its own dog-pile protection.
   */
  async getMany(keys: readonly string[], options: CacheGetManyOptions<V> = {}): Promise<(V | undefined)[]> {
    const { createfunc, ...rest } = options;
    const optionsOf = (key: string): CacheGetOptions<V> =>
      createfunc === undefined ? rest : { ...rest, createfunc: (context) => createfunc(key, context) };
    if (keys.length === 0) return [];
    if (!this.#settings.enabled) return Promise.all(keys.map((key) => this.get(key, optionsOf(key))));
    let backend: AnyBackend;
    let data: unknown[];
    try {
      backend = this.#backend ?? (await this.#resolveBackend());
      data = await getEntries(backend, this.namespace, keys);
    } catch (error) {
      return Promise.all(keys.map((key) => this.#afterReadFailure(key, optionsOf(key).createfunc, error)));
    }
    const entries = keys.map((key, index) => this.#decode(backend, key, data[index]));
    // The tokens of every tag of every entry read, in one more read; if it fails, only the tagged keys miss.
    const tags = new Set<string>();
    for (const entry of entries) for (const [tag] of entry?.tags ?? []) tags.add(tag);
    let tokens: CurrentTokens = new Map();
    let tokensFailure: { error: unknown } | undefined;
    try {
      if (tags.size > 0) tokens = await tokensOf(backend, [...tags], this.#tagKeys);
    } catch (error) {
      tokensFailure = { error };
    }
    return Promise.all(
      keys.map((key, index) => {
        const entry = entries[index];
        if (entry === undefined) return this.#afterMiss(key, undefined, optionsOf(key));
        if (entry.tags !== undefined && tokensFailure !== undefined) {
          return this.#afterReadFailure(key, optionsOf(key).createfunc, tokensFailure.error);
        }
        const verdict = entry.tags === undefined ? 'valid' : verdictOf(entry.tags, tokens);
        return this.#answerStanding(key, entry, this.#standingOf(entry, verdict), optionsOf(key));
      }),
    );
  }

  /**
   * The fresh value of `key`, synchronously, or `undefined` when there is none; it never creates a value, waits or
   * takes a lock, and counts in {@link stats} as a `get` does. It answers for a cache on a store in this process
   * (`memory`) whose store is open: after any other call on the cache, or `await cache.open()`.
   *
   * @throws {SynchronousReadError} The store is outside this process, or not open yet.
   */
  peek(key: string): V | undefined {
    if (!this.#settings.enabled) {
      this.#countMiss(key);
      return undefined;
    }
    const backend = this.#backend;
    if (backend === undefined) {
      throw new SynchronousReadError(
        this.#settings.backendType,
        'its store is not open yet (await cache.open() first)',
      );
    }
    if (backend.peek === undefined) {
      throw new SynchronousReadError(
        backend.type,
        'its store is outside this process; use await cache.get()',
      );
    }
    const entry = this.#decode(backend, key, backend.peek(this.namespace, key));
    // A store in this process keeps its tag tokens in this process too: the verdict is at hand.
    const fresh =
      entry?.tags === undefined
        ? this.#isHit(key, entry)
        : this.#standingOf(entry, tagVerdict(backend, entry.tags, this.#tagKeys) as TagVerdict) === 'fresh' &&
          this.#isHit(key, entry);
    if (fresh) return entry?.value as V;
    this.#countMiss(key);
    return undefined;
  }

  /** Answers a read that found no fresh untagged entry: a tagged one is checked, anything else is a miss. */
  #answerOtherwise(
    backend: AnyBackend,
    key: string,
    entry: CacheEntry | undefined,
    options: CacheGetOptions<V> | undefined,
  ): Promise<V | undefined> {
    if (entry?.tags !== undefined) return this.#answerTagged(backend, key, entry, entry.tags, options);
    return this.#afterMiss(key, entry, options);
  }

  /** Answers a read of a tagged entry, once its tags' tokens say whether it was invalidated. */
  #answerTagged(
    backend: AnyBackend,
    key: string,
    entry: CacheEntry,
    tags: TagStamps,
    options: CacheGetOptions<V> | undefined,
  ): Promise<V | undefined> {
    const failed = (error: unknown): Promise<V | undefined> =>
      this.#afterReadFailure(key, options?.createfunc, error);
    let verdict: TagVerdict | Promise<TagVerdict>;
    try {
      verdict = tagVerdict(backend, tags, this.#tagKeys);
    } catch (error) {
      return failed(error);
    }
    // A store in this process gives the verdict at once: the hit then costs one resolved promise, as an untagged one.
    if (!(verdict instanceof Promise)) {
      return this.#answerStanding(key, entry, this.#standingOf(entry, verdict), options);
    }
    return verdict.then(
      (settled) => this.#answerStanding(key, entry, this.#standingOf(entry, settled), options),
      failed,
    );
  }

  /** Answers a read whose entry stands as `standing`: its value, or a miss (with the stale value, if any). */
  #answerStanding(
    key: string,
    entry: CacheEntry | undefined,
    standing: Standing,
    options: CacheGetOptions<V> | undefined,
  ): Promise<V | undefined> {
    if (standing === 'fresh' && this.#isHit(key, entry))
      return Promise.resolve(this.#hit(key, entry, options));
    return this.#afterMiss(key, standing === 'stale' ? entry : undefined, options);
  }

  /** Where an entry stands, given its tags' verdict. */
  #standingOf(entry: CacheEntry, verdict: TagVerdict): Standing {
    if (verdict === 'deleted') return 'gone';
    return verdict === 'valid' && this.#isFresh(entry) ? 'fresh' : 'stale';
  }

  /** Where the entry read for `key` stands now, its tags' tokens read where it has tags. */
  async #standing(backend: AnyBackend, entry: CacheEntry | undefined): Promise<Standing> {
    if (entry === undefined) return 'gone';
    return this.#standingOf(
      entry,
      entry.tags === undefined ? 'valid' : await tagVerdict(backend, entry.tags, this.#tagKeys),
    );
  }

  /** Is `entry` fresh by its times? Counts the hit when it is (a miss is counted by the caller, which may create). */
  #isHit(key: string, entry: CacheEntry | undefined): entry is CacheEntry {
    if (entry === undefined || !this.#isFresh(entry)) return false;
    this.#stats.hits += 1;
    if (this.#settings.reportsActivity) this.#reportActivity('hit', key);
    return true;
  }

  /** The value of a hit; one close to its expiry is refreshed in the background (`refresh_ahead`). */
  #hit(key: string, entry: CacheEntry, options: CacheGetOptions<V> | undefined): V {
    if (this.#settings.refreshAheadMs !== null && options?.createfunc !== undefined) {
      this.#refreshAheadIfDue(key, entry, options);
    }
    return entry.value as V;
  }

  #countMiss(key: string): void {
    this.#stats.misses += 1;
    if (this.#settings.reportsActivity) this.#reportActivity('miss', key);
  }

  #reportActivity(type: 'hit' | 'miss' | 'stale', key: string): void {
    this.#settings.onEvent({ type, backend: this.#backendName(), namespace: this.namespace, key });
  }

  #backendName(): string {
    return this.#backend?.type ?? this.#settings.backendType;
  }

  /** A key with no fresh value: a miss, then the creation when there is a `createfunc`. */
  #afterMiss(
    key: string,
    stale: CacheEntry | undefined,
    options: CacheGetOptions<V> | undefined,
  ): Promise<V | undefined> {
    this.#countMiss(key);
    const creation = this.#creationOf(options);
    if (creation === undefined) return Promise.resolve(undefined);
    return this.#create(key, creation, stale);
  }

  #creationOf(options: CacheGetOptions<V> | undefined): Creation<V> | undefined {
    const createfunc = options?.createfunc;
    if (createfunc === undefined) return undefined;
    return {
      createfunc,
      expire: options?.expiretime === undefined ? this.#settings.expire : options.expiretime,
      tags: mergedTags(this.#settings.tags, options?.tags),
    };
  }

  /** Creates a value that is not stored (caching disabled, or the store unreadable). */
  async #createUncached(key: string, createfunc: CreateFunction<V> | undefined): Promise<V | undefined> {
    if (!createfunc) return undefined;
    this.#stats.creations += 1;
    const started = this.#settings.timers.now();
    try {
      const { value } = await runCreation({
        namespace: this.namespace,
        key,
        stale: undefined,
        hardTimeoutMs: this.#settings.hardTimeoutMs,
        timers: this.#settings.timers,
        createfunc,
      });
      this.#reportCreated(key, started, { background: false });
      return value;
    } catch (error) {
      this.#stats.errors += 1;
      if (this.#settings.reportsActivity) this.#reportCreationError(key, error, false);
      throw error;
    }
  }

  /** A store that is down: a miss, reported; with a createfunc the caller still gets a value. */
  #afterReadFailure(
    key: string,
    createfunc: CreateFunction<V> | undefined,
    error: unknown,
  ): Promise<V | undefined> {
    try {
      this.#reportStoreError(key, 'read', error);
    } catch (configurationError) {
      return Promise.reject(
        configurationError instanceof Error ? configurationError : new Error(String(configurationError)),
      );
    }
    this.#countMiss(key);
    return this.#createUncached(key, createfunc);
  }

  /** Stores `value` under `key`, replacing any entry. */
  async put(key: string, value: V, options: CachePutOptions = {}): Promise<void> {
    if (!this.#settings.enabled) return;
    const backend = this.#backend ?? (await this.#resolveBackend());
    const tags = mergedTags(this.#settings.tags, options.tags);
    const stamps =
      tags === undefined
        ? undefined
        : await stampsForWrite(backend, tags, this.#tagKeys, this.#settings.clock());
    await this.#write(
      key,
      value,
      options.expiretime === undefined ? this.#settings.expire : options.expiretime,
      stamps,
    );
  }

  /**
   * Removes the entry of `key` (even an expired one); resolves to whether there was one, or `undefined` when the
   * store cannot tell without another read (`ext:google`), which it does not make.
   */
  async remove(key: string): Promise<boolean | undefined> {
    const backend = this.#backend ?? (await this.#resolveBackend());
    return backend.delete(this.namespace, key);
  }

  /** Is there a fresh value for `key` (not invalidated by one of its tags)? */
  async has(key: string): Promise<boolean> {
    if (!this.#settings.enabled) return false;
    const backend = this.#backend ?? (await this.#resolveBackend());
    return (await this.#standing(backend, await this.#read(key))) === 'fresh';
  }

  /**
   * The keys that have a fresh value. Each listed entry is read to check it, a fixed number at a time, so a large
   * namespace on a store of files never opens them all at once.
   */
  async keys(): Promise<string[]> {
    if (!this.#settings.enabled) return [];
    const backend = this.#backend ?? (await this.#resolveBackend());
    const keys = await backend.keys(this.namespace);
    const fresh = new Set<string>();
    await forEachBounded(keys, KEYS_READ_CONCURRENCY, async (key) => {
      if (await this.has(key)) fresh.add(key);
    });
    return keys.filter((key) => fresh.has(key));
  }

  /** Removes every entry of this namespace, and nothing else. */
  async clear(): Promise<void> {
    const backend = this.#backend ?? (await this.#resolveBackend());
    await backend.clear(this.namespace);
  }

  #isFresh(entry: CacheEntry): boolean {
    return isFresh(entry, this.#settings.clock, this.#settings.starttimeMs);
  }

  /** Can a creator's failure be answered with `stale` now (`stale_if_error`)? */
  #staleServesOnError(stale: CacheEntry): boolean {
    const window = this.#settings.staleIfErrorMs;
    if (window === null) return false;
    return stale.expire === null || this.#settings.clock() < stale.storedAt + stale.expire * 1000 + window;
  }

  /** Is `stale` in the back-off after a failed creation, when every caller gets it and nobody creates? */
  #inErrorBackoff(stale: CacheEntry): boolean {
    return (
      stale.retryAt !== undefined && this.#settings.clock() < stale.retryAt && this.#staleServesOnError(stale)
    );
  }

  #serveStale(key: string, stale: CacheEntry): V {
    this.#stats.staleServes += 1;
    if (this.#settings.reportsActivity) this.#reportActivity('stale', key);
    return stale.value as V;
  }

  /**
   * May `stale` be served while another caller creates the new value? Yes while the store keeps it, unless its writer
   * kept it longer than its grace for `stale_if_error` and that grace is over: the writer's grace decides.
   */
  #withinGrace(stale: CacheEntry): boolean {
    return stale.graceEndsAt === undefined || this.#settings.clock() < stale.graceEndsAt;
  }

  /**
   * Creates the value under the creation lock: takes it, reads the store again, creates it if still needed. With a
   * stale value within `grace`, a caller that does not get the lock at once gets the stale value; the one that does
   * gets it too after `soft_timeout`, the creation going on in the background. Without one, the callers of this
   * process wait together: one of them waits for the lock (and creates, or reads what another process created), the
   * others get its value, so that they do not hand the cross-process lock to each other one by one once the value
   * exists. An expired value past `grace` (kept for `stale_if_error`) only answers for a creator that fails.
   */
  #create(key: string, creation: Creation<V>, stale: CacheEntry | undefined): Promise<V> {
    if (stale !== undefined && this.#inErrorBackoff(stale))
      return Promise.resolve(this.#serveStale(key, stale));
    if (stale !== undefined && this.#withinGrace(stale))
      return this.#createLocked(key, creation, stale, stale);
    const waiting = this.#coldWaits.get(key);
    if (waiting !== undefined) return this.#joinWait(key, waiting, creation, stale);
    const created = this.#createLocked(key, creation, undefined, stale);
    this.#coldWaits.set(key, created);
    const forget = (): void => {
      if (this.#coldWaits.get(key) === created) this.#coldWaits.delete(key);
    };
    created.then(forget, forget);
    return created;
  }

  /**
   * Waits for the creation (or the wait) this process already runs for `key`, at most `lock_timeout`, as a wait for
   * the lock would. Its creator's error goes to its own caller only: this one then tries again itself.
   */
  #joinWait(
    key: string,
    waiting: Promise<V>,
    creation: Creation<V>,
    fallback: CacheEntry | undefined,
  ): Promise<V> {
    const TIMED_OUT = 'timed out' as const;
    // `undefined`: the other caller's creator failed.
    const joined = waiting.then(
      (value) => ({ value }),
      () => undefined,
    );
    return withinTime<{ value: V } | undefined | typeof TIMED_OUT>(
      this.#settings.timers,
      this.#settings.lockTimeoutMs,
      joined,
      () => TIMED_OUT,
    ).then((outcome) => {
      if (outcome === TIMED_OUT) return this.#afterLockTimeout(key, creation, fallback);
      if (outcome === undefined) return this.#create(key, creation, fallback);
      this.#stats.lockWaits += 1;
      return outcome.value;
    });
  }

  /**
   * The creation under the lock. `servable`: the stale value that may answer while the value is created (then the
   * lock is only tried); `fallback`: the expired value that may answer for a failing creator (`stale_if_error`).
   */
  async #createLocked(
    key: string,
    creation: Creation<V>,
    servable: CacheEntry | undefined,
    fallback: CacheEntry | undefined,
  ): Promise<V> {
    let lock: LockHandle | undefined;
    try {
      const locks = await this.#settings.locks();
      // With a stale value only try the lock: if someone else is creating, serve the stale value at once.
      lock = await locks.acquire(
        entryLockName(this.namespace, key),
        servable ? 0 : this.#settings.lockTimeoutMs,
      );
    } catch (error) {
      this.#reportStoreError(key, 'read', error);
      return this.#createAndStore(key, creation, fallback, { background: false });
    }
    if (!lock) {
      if (servable) return this.#serveStale(key, servable);
      return this.#afterLockTimeout(key, creation, fallback);
    }
    let current: Reread;
    try {
      current = await this.#reread(key);
    } catch (error) {
      await lock.release();
      throw error;
    }
    // The previous holder may have created the value while this caller waited.
    if (current.standing === 'fresh') {
      await lock.release();
      if (!servable) this.#stats.lockWaits += 1;
      return current.entry?.value as V;
    }
    // What the store holds now decides: an entry gone (dropped, or deleted by a tag) is never served.
    const latest = this.#latestExpired(current, fallback);
    if (latest !== undefined && this.#inErrorBackoff(latest)) {
      await lock.release();
      return this.#serveStale(key, latest);
    }
    const delivery: CreationDelivery = { background: false };
    const held = lock;
    const creating = this.#createAndStore(key, creation, latest, delivery).finally(() => held.release());
    return latest !== undefined && this.#withinGrace(latest)
      ? this.#answerWhileCreating(key, latest, creating, delivery)
      : creating;
  }

  /** The expired entry a re-read leaves at hand: the one read, or the earlier one when the store could not be read. */
  #latestExpired(current: Reread, earlier: CacheEntry | undefined): CacheEntry | undefined {
    if (current.failed) return earlier;
    return current.standing === 'stale' ? current.entry : undefined;
  }

  /**
   * The lock was not obtained within `lock_timeout`: the value another caller created meanwhile, else this caller
   * creates it without the lock (availability over strict once-only creation), reported as a `lock-timeout`.
   */
  async #afterLockTimeout(key: string, creation: Creation<V>, fallback: CacheEntry | undefined): Promise<V> {
    this.#stats.lockWaits += 1;
    const current = await this.#reread(key);
    if (current.standing === 'fresh') return current.entry?.value as V;
    this.#settings.onEvent({
      type: 'lock-timeout',
      backend: this.#backendName(),
      namespace: this.namespace,
      key,
      message: `waited ${this.#settings.lockTimeoutMs} ms for another caller to create the value; creating it here`,
    });
    return this.#createAndStore(key, creation, this.#latestExpired(current, fallback), { background: false });
  }

  /** The entry of `key` read again under the lock, and where it stands; a store that fails counts as no entry. */
  async #reread(key: string): Promise<Reread> {
    try {
      const backend = this.#backend ?? (await this.#resolveBackend());
      const entry = await this.#read(key);
      return { entry, standing: await this.#standing(backend, entry), failed: false };
    } catch (error) {
      this.#reportStoreError(key, 'read', error);
      return { entry: undefined, standing: 'gone', failed: true };
    }
  }

  /**
   * The creating caller's answer when a stale value exists: the new value if it comes within `soft_timeout`, else
   * the stale value, the creation finishing in the background.
   */
  #answerWhileCreating(
    key: string,
    stale: CacheEntry,
    creating: Promise<V>,
    delivery: CreationDelivery,
  ): Promise<V> {
    const softTimeoutMs = this.#settings.softTimeoutMs;
    if (softTimeoutMs === null) return creating;
    const inBackground = (): V => {
      delivery.background = true;
      creating.catch((error: unknown) => {
        this.#reportCreationError(key, error, true);
      });
      return this.#serveStale(key, stale);
    };
    if (softTimeoutMs === 0) return Promise.resolve(inBackground());
    return withinTime(this.#settings.timers, softTimeoutMs, creating, inBackground);
  }

  /**
   * Starts a background refresh of a hit close to its expiry (within `refresh_ahead`, and at most half its life),
   * unless this process or another is on it, or a refresh failed less than `error_backoff` ago.
   */
  #refreshAheadIfDue(key: string, entry: CacheEntry, options: CacheGetOptions<V>): void {
    const lead = this.#settings.refreshAheadMs;
    if (lead === null || entry.expire === null || this.#refreshingAhead.has(key)) return;
    const now = this.#settings.clock();
    const lifetimeMs = entry.expire * 1000;
    if (entry.storedAt + lifetimeMs - now > Math.min(lead, lifetimeMs / 2)) return;
    if (entry.retryAt !== undefined && now < entry.retryAt) return;
    if (now < (this.#refreshAheadFailures.get(key) ?? 0)) return;
    const creation = this.#creationOf(options);
    if (creation === undefined) return;
    this.#refreshingAhead.add(key);
    this.#refreshAhead(key, entry, creation).then(
      () => this.#refreshingAhead.delete(key),
      (error: unknown) => {
        this.#refreshingAhead.delete(key);
        this.#refreshAheadFailures.set(key, now + this.#settings.errorBackoffMs);
        // The caller got the value it hit: nothing stale was served.
        this.#reportCreationError(key, error, false);
      },
    );
  }

  /** Refreshes `key` under its lock, if nobody else holds it and nobody refreshed it since `entry` was read. */
  async #refreshAhead(key: string, entry: CacheEntry, creation: Creation<V>): Promise<void> {
    const locks = await this.#settings.locks();
    const lock = await locks.acquire(entryLockName(this.namespace, key), 0);
    // Another caller (here or in another process) is refreshing it.
    if (!lock) return;
    try {
      const current = await this.#reread(key);
      if (current.entry !== undefined && current.entry.storedAt > entry.storedAt) return;
      await this.#createAndStore(key, creation, undefined, { background: true });
      this.#refreshAheadFailures.delete(key);
    } finally {
      await lock.release();
    }
  }

  /**
   * Runs the creator and stores its value. The tags' tokens are read first (those of `addTags` when it is called),
   * so that a tag invalidated while the value was being computed invalidates the value too. A creator that fails
   * while a stale value may answer for it (`stale_if_error`) gives the stale value, and starts a back-off during
   * which nobody tries again.
   */
  async #createAndStore(
    key: string,
    creation: Creation<V>,
    stale: CacheEntry | undefined,
    delivery: CreationDelivery,
  ): Promise<V> {
    this.#stats.creations += 1;
    const started = this.#settings.timers.now();
    const backend = this.#backend ?? (await this.#resolveBackend());
    // Read (or made) before the creator runs: an invalidation from now on changes them.
    const stamps =
      creation.tags === undefined ? [] : await this.#stampsOrFailure(key, backend, creation.tags);
    const addedStamps: Promise<TagStamps | undefined>[] = [];
    let created;
    try {
      created = await runCreation({
        namespace: this.namespace,
        key,
        stale,
        hardTimeoutMs: this.#settings.hardTimeoutMs,
        timers: this.#settings.timers,
        createfunc: creation.createfunc,
        onAddTags: (tags) => addedStamps.push(this.#stampsOrFailure(key, backend, tags)),
      });
    } catch (error) {
      await Promise.all(addedStamps);
      return this.#afterCreationFailure(key, stale, error, delivery);
    }
    const { value, choices } = created;
    const allStamps = addedStamps.length === 0 ? [stamps] : [stamps, ...(await Promise.all(addedStamps))];
    // Without the tags' tokens an entry could outlive an invalidation: it is not stored.
    if (!choices.skip && allStamps.every((part) => part !== undefined)) {
      try {
        await this.#write(
          key,
          value,
          choices.expire === undefined ? creation.expire : choices.expire,
          allStamps.length === 1 ? allStamps[0] : uniqueStamps(allStamps.flat()),
        );
      } catch (error) {
        // The value was created: give it to the caller even if the store cannot keep it.
        this.#reportStoreError(key, 'write', error);
      }
    }
    this.#reportCreated(key, started, delivery);
    return value;
  }

  /** The stamps of `tags` for an entry written now (none for no tags), or undefined, reported, when the store failed. */
  async #stampsOrFailure(
    key: string,
    backend: AnyBackend,
    tags: readonly string[],
  ): Promise<TagStamps | undefined> {
    if (tags.length === 0) return [];
    try {
      return await stampsForWrite(backend, tags, this.#tagKeys, this.#settings.clock());
    } catch (error) {
      this.#reportStoreError(key, 'read', error);
      return undefined;
    }
  }

  #reportCreated(key: string, started: number, delivery: CreationDelivery): void {
    if (delivery.background) this.#stats.refreshes += 1;
    if (!this.#settings.reportsActivity) return;
    this.#settings.onEvent({
      type: delivery.background ? 'refresh' : 'create',
      backend: this.#backendName(),
      namespace: this.namespace,
      key,
      durationMs: this.#settings.timers.now() - started,
    });
  }

  /** A creator failed: the stale value when it may answer (then a back-off is recorded), else the error. */
  async #afterCreationFailure(
    key: string,
    stale: CacheEntry | undefined,
    error: unknown,
    delivery: CreationDelivery,
  ): Promise<V> {
    this.#stats.errors += 1;
    if (stale === undefined || !this.#staleServesOnError(stale)) {
      if (this.#settings.reportsActivity && !delivery.background)
        this.#reportCreationError(key, error, false);
      throw error instanceof Error ? error : new Error(String(error));
    }
    this.#reportCreationError(key, error, true);
    await this.#recordBackoff(key, stale);
    // A creation in the background has no caller left: its callers were served (and counted) already.
    return delivery.background ? (stale.value as V) : this.#serveStale(key, stale);
  }

  /** Rewrites the stale entry with the end of its back-off, keeping its value, times, tags and store expiry. */
  async #recordBackoff(key: string, stale: CacheEntry): Promise<void> {
    const retryAt = this.#settings.clock() + this.#settings.errorBackoffMs;
    try {
      const backend = this.#backend ?? (await this.#resolveBackend());
      const ttlMs = this.#storeTtlMs(backend, stale.expire);
      if (ttlMs === undefined) {
        await this.#setEntry(backend, key, { ...stale, retryAt }, undefined);
        return;
      }
      // The store drops the entry when it would have dropped the original.
      const dropAt = stale.storedAt + ttlMs;
      const remainingMs = roundedTtlMs(dropAt - this.#settings.clock(), backend.capabilities);
      if (remainingMs <= 0) return;
      await this.#setEntry(backend, key, { ...stale, retryAt }, { ttlMs: remainingMs, dropAt });
    } catch (writeError) {
      this.#reportStoreError(key, 'write', writeError);
    }
  }

  #reportCreationError(key: string, error: unknown, servedStale: boolean): void {
    this.#settings.onEvent({
      type: 'creation-error',
      backend: this.#backendName(),
      namespace: this.namespace,
      key,
      message: servedStale
        ? `creating the value failed (${error instanceof Error ? error.message : String(error)}); the stale value is served`
        : `creating the value failed (${error instanceof Error ? error.message : String(error)})`,
      error,
      servedStale,
    });
  }

  /**
   * Reports a store that failed, so the caller is served without it. A store that cannot exist as configured (an
   * invalid option, a client library that is not installed) is thrown instead: serving around it would hide the
   * mistake and drop dog-pile protection for good.
   */
  #reportStoreError(key: string, operation: 'read' | 'write', error: unknown): void {
    if (isConfigurationError(error)) throw error;
    this.#stats.errors += 1;
    this.#settings.onEvent({
      type: 'backend-error',
      backend: this.#backendName(),
      namespace: this.namespace,
      key,
      message: `the cache store failed to ${operation} (${error instanceof Error ? error.message : String(error)}); the value was computed without it`,
      error,
    });
  }

  #write(key: string, value: unknown, expire: number | null, tags: TagStamps | undefined): Promise<void> {
    const backend = this.#backend;
    if (backend === undefined)
      return this.#resolveBackend().then(() => this.#write(key, value, expire, tags));
    try {
      const storedAt = this.#settings.clock();
      const entry: CacheEntry = { storedAt, expire, value };
      // An entry without tags carries none, not an empty list: its reads then skip the tags' check altogether.
      if (tags !== undefined && tags.length > 0) entry.tags = tags;
      const graceEndsAt = this.#graceEndsAt(storedAt, expire);
      if (graceEndsAt !== undefined) entry.graceEndsAt = graceEndsAt;
      const ttlMs = this.#storeTtlMs(backend, expire);
      return this.#setEntry(
        backend,
        key,
        entry,
        ttlMs === undefined ? undefined : { ttlMs, dropAt: storedAt + ttlMs },
      );
    } catch (error) {
      // A value that cannot be encoded rejects, as every other failure of put() does.
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Writes an entry that the store drops after `expiry.ttlMs` (at `expiry.dropAt`, in ms since the epoch), or keeps
   * (`undefined`). Throws at once when it cannot be encoded.
   */
  #setEntry(
    backend: AnyBackend,
    key: string,
    entry: CacheEntry,
    expiry: { ttlMs: number; dropAt: number } | undefined,
  ): Promise<void> {
    // A store that does not expire entries itself may return one past its TTL: the entry says when that is.
    if (expiry !== undefined && !backend.capabilities.nativeTtl) entry.hardExpiresAt = expiry.dropAt;
    const options = expiry === undefined ? {} : { ttlMs: expiry.ttlMs };
    return this.#storesObjects
      ? (backend as ObjectBackend).set(this.namespace, key, entry, options)
      : (backend as Backend).set(this.namespace, key, this.#settings.codec.encode(entry), options);
  }

  /** When an entry stored now stops being served stale, if the store keeps it longer (for `stale_if_error`). */
  #graceEndsAt(storedAt: number, expire: number | null): number | undefined {
    const staleIfErrorMs = this.#settings.staleIfErrorMs;
    if (expire === null || staleIfErrorMs === null) return undefined;
    const graceMs = (this.#settings.graceSeconds ?? expire) * 1000;
    return staleIfErrorMs > graceMs ? storedAt + expire * 1000 + graceMs : undefined;
  }

  /**
   * How long the store keeps an entry: its freshness plus the longer of the grace for serve-stale and the
   * `stale_if_error` window, rounded up to the store's TTL step; undefined for an entry that never expires.
   */
  #storeTtlMs(backend: AnyBackend, expire: number | null): number | undefined {
    if (expire === null) return undefined;
    const graceMs = (this.#settings.graceSeconds ?? expire) * 1000;
    return roundedTtlMs(
      expire * 1000 + Math.max(graceMs, this.#settings.staleIfErrorMs ?? 0),
      backend.capabilities,
    );
  }

  /** Reads and decodes an entry. */
  async #read(key: string): Promise<CacheEntry | undefined> {
    const backend = this.#backend ?? (await this.#resolveBackend());
    return this.#decode(backend, key, await this.#getRaw(backend, key));
  }

  /** The stored data of `key`; a back-end that throws at once rejects instead. */
  #getRaw(backend: AnyBackend, key: string): Promise<unknown> {
    try {
      return backend.get(this.namespace, key);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Decodes stored data; a value that cannot be decoded is reported and treated as a miss, and so is an entry past
   * the TTL its store was given (a store without native TTL may still return it).
   */
  #decode(backend: AnyBackend, key: string, data: unknown): CacheEntry | undefined {
    const entry = this.#decodeData(backend, key, data);
    const hardExpiresAt = entry?.hardExpiresAt;
    return hardExpiresAt !== undefined && hardExpiresAt <= this.#settings.clock() ? undefined : entry;
  }

  #decodeData(backend: AnyBackend, key: string, data: unknown): CacheEntry | undefined {
    if (data === undefined) return undefined;
    if (this.#storesObjects) return data as CacheEntry;
    try {
      return this.#settings.codec.decode(data as string);
    } catch (error) {
      this.#settings.onEvent({
        type: 'decode-error',
        backend: backend.type,
        namespace: this.namespace,
        key,
        message: `a stored value could not be decoded and counts as missing: ${String(error)}`,
        error,
      });
      return undefined;
    }
  }
}
