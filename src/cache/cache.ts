/**
 * `Cache`: one namespace of a back-end, with expiry, `starttime`, `enabled` and dog-pile protection: a missing
 * or expired value is created once, by one caller, while the others wait for it or get the stale value.
 * @module
 */
import { roundedTtlMs, type AnyBackend, type Backend, type ObjectBackend } from '../backends/contract.js';
import { forEachBounded } from '../backends/kit/bounded.js';
import { isConfigurationError, SynchronousReadError } from '../shared/errors.js';
import { entryLockName, type LockHandle, type LockProvider } from '../locks/contract.js';
import type { CacheEventHandler } from './events.js';
import { isFresh, jsonEntryCodec, type CacheEntry, type EntryCodec } from './entry.js';

/** How many entries {@link Cache.keys} reads at once to check their freshness. */
const KEYS_READ_CONCURRENCY = 32;

/** Creates the value of a missing or expired key. */
export type CreateFunction<V> = () => V | Promise<V>;

/** Options of {@link Cache.get}. */
export interface CacheGetOptions<V> {
  /** Creates the value when the key is missing or expired; without it, such a key is a miss (`undefined`). */
  createfunc?: CreateFunction<V>;
  /** Seconds a value created by this call stays fresh (default: the cache's `expire`); `null` keeps it forever. */
  expiretime?: number | null;
}

/** Options of {@link Cache.put}. */
export interface CachePutOptions {
  /** Seconds the value stays fresh (default: the cache's `expire`); `null` keeps it forever. */
  expiretime?: number | null;
}

/**
 * What {@link Cache.get} did in this process since the cache was built: a plain snapshot from {@link Cache.stats}.
 * Each `get` counts once as a hit or a miss; `put`, `has` and `keys` count nothing.
 */
export interface CacheStats {
  /** `get` calls answered with a fresh stored value. */
  hits: number;
  /** `get` calls that found no fresh value: missing, expired, unreadable, or caching disabled. */
  misses: number;
  /** Runs of a `createfunc`: the values this process created. */
  creations: number;
  /** `get` calls answered with the expired value because another caller was creating the new one. */
  staleServes: number;
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
  /** The creation locks (in-process, then cross-process). */
  locks: () => Promise<LockProvider>;
  clock: () => number;
  onEvent: CacheEventHandler;
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
  readonly #stats: CacheStats = { hits: 0, misses: 0, creations: 0, staleServes: 0 };

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
   * How many `get` calls were hits, misses or stale serves, and how many values were created, in this process
   * since the cache was built (other processes sharing the store count their own).
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
   */
  get(key: string, options?: CacheGetOptions<V>): Promise<V | undefined> {
    if (!this.#settings.enabled) {
      this.#stats.misses += 1;
      return this.#createUncached(options?.createfunc);
    }
    const backend = this.#backend;
    if (backend === undefined) {
      return this.#resolveBackend().then(
        () => this.get(key, options),
        (error: unknown) => this.#afterReadFailure(key, options?.createfunc, error),
      );
    }
    if (backend.peek === undefined) {
      // The hit path is one `.then` on the back-end's read (no async wrapper): it runs on every cached call.
      return this.#getRaw(backend, key).then(
        (data) => {
          const entry = this.#decode(backend, key, data);
          return this.#countHit(entry) ? (entry.value as V) : this.#afterMiss(key, entry, options);
        },
        (error: unknown) => this.#afterReadFailure(key, options?.createfunc, error),
      );
    }
    // A store in this process answers at once: a hit costs one resolved promise.
    let data: unknown;
    try {
      data = backend.peek(this.namespace, key);
    } catch (error) {
      return this.#afterReadFailure(key, options?.createfunc, error);
    }
    const entry = this.#decode(backend, key, data);
    return this.#countHit(entry) ? Promise.resolve(entry.value as V) : this.#afterMiss(key, entry, options);
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
      this.#stats.misses += 1;
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
    if (this.#countHit(entry)) return entry.value as V;
    this.#stats.misses += 1;
    return undefined;
  }

  /** Is `entry` fresh? Counts the hit when it is (a miss is counted by the caller, which may still create). */
  #countHit(entry: CacheEntry | undefined): entry is CacheEntry {
    if (entry === undefined || !this.#isFresh(entry)) return false;
    this.#stats.hits += 1;
    return true;
  }

  /** A key with no fresh value: a miss, then the creation when there is a `createfunc`. */
  #afterMiss(
    key: string,
    stale: CacheEntry | undefined,
    options: CacheGetOptions<V> | undefined,
  ): Promise<V | undefined> {
    this.#stats.misses += 1;
    const createfunc = options?.createfunc;
    if (!createfunc) return Promise.resolve(undefined);
    const expire = options?.expiretime === undefined ? this.#settings.expire : options.expiretime;
    return this.#create(key, createfunc, expire, stale);
  }

  async #createUncached(createfunc: CreateFunction<V> | undefined): Promise<V | undefined> {
    if (!createfunc) return undefined;
    this.#stats.creations += 1;
    return await createfunc();
  }

  /** A store that is down: a miss, reported; with a createfunc the caller still gets a value. */
  #afterReadFailure(
    key: string,
    createfunc: CreateFunction<V> | undefined,
    error: unknown,
  ): Promise<V | undefined> {
    this.#reportStoreError(key, 'read', error);
    this.#stats.misses += 1;
    return this.#createUncached(createfunc);
  }

  /** Stores `value` under `key`, replacing any entry. */
  put(key: string, value: V, options: CachePutOptions = {}): Promise<void> {
    if (!this.#settings.enabled) return Promise.resolve();
    return this.#write(
      key,
      value,
      options.expiretime === undefined ? this.#settings.expire : options.expiretime,
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

  /** Is there a fresh value for `key`? */
  async has(key: string): Promise<boolean> {
    if (!this.#settings.enabled) return false;
    const entry = await this.#read(key);
    return entry !== undefined && this.#isFresh(entry);
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

  /** Creates the value under the creation lock: takes it, reads the store again, creates it if still needed. */
  async #create(
    key: string,
    createfunc: CreateFunction<V>,
    expire: number | null,
    stale: CacheEntry | undefined,
  ): Promise<V> {
    const locks = await this.#settings.locks();
    const lockName = entryLockName(this.namespace, key);
    let lock: LockHandle | undefined;
    try {
      // With a stale value only try the lock: if someone else is creating, serve the stale value at once.
      lock = await locks.acquire(lockName, stale ? 0 : this.#settings.lockTimeoutMs);
    } catch (error) {
      this.#reportStoreError(key, 'read', error);
      return this.#createAndStore(key, createfunc, expire);
    }
    if (!lock) {
      if (stale) {
        this.#stats.staleServes += 1;
        return stale.value as V;
      }
      const backend = this.#backend ?? (await this.#resolveBackend());
      this.#settings.onEvent({
        type: 'lock-timeout',
        backend: backend.type,
        namespace: this.namespace,
        key,
        message: `waited ${this.#settings.lockTimeoutMs} ms for another caller to create the value; creating it here`,
      });
      return this.#createAndStore(key, createfunc, expire);
    }
    try {
      // The previous holder may have created the value while this caller waited.
      const current = await this.#read(key).catch((error: unknown) => {
        this.#reportStoreError(key, 'read', error);
        return undefined;
      });
      if (current && this.#isFresh(current)) return current.value as V;
      return await this.#createAndStore(key, createfunc, expire);
    } finally {
      await lock.release();
    }
  }

  async #createAndStore(key: string, createfunc: CreateFunction<V>, expire: number | null): Promise<V> {
    this.#stats.creations += 1;
    const value = await createfunc();
    try {
      await this.#write(key, value, expire);
    } catch (error) {
      // The value was created: give it to the caller even if the store cannot keep it.
      this.#reportStoreError(key, 'write', error);
    }
    return value;
  }

  /**
   * Reports a store that failed, so the caller is served without it. A store that cannot exist as configured (an
   * invalid option, a client library that is not installed) is thrown instead: serving around it would hide the
   * mistake and drop dog-pile protection for good.
   */
  #reportStoreError(key: string, operation: 'read' | 'write', error: unknown): void {
    if (isConfigurationError(error)) throw error;
    this.#settings.onEvent({
      type: 'backend-error',
      backend: this.#backend?.type ?? this.#settings.backendType,
      namespace: this.namespace,
      key,
      message: `the cache store failed to ${operation} (${error instanceof Error ? error.message : String(error)}); the value was computed without it`,
      error,
    });
  }

  #write(key: string, value: unknown, expire: number | null): Promise<void> {
    const backend = this.#backend;
    if (backend === undefined) return this.#resolveBackend().then(() => this.#write(key, value, expire));
    try {
      const storedAt = this.#settings.clock();
      const ttlMs = this.#storeTtlMs(backend, expire);
      const entry: CacheEntry = { storedAt, expire, value };
      // A store that does not expire entries itself may return one past its TTL: the entry says when that is.
      if (ttlMs !== undefined && !backend.capabilities.nativeTtl) entry.hardExpiresAt = storedAt + ttlMs;
      const options = ttlMs === undefined ? {} : { ttlMs };
      return this.#storesObjects
        ? (backend as ObjectBackend).set(this.namespace, key, entry, options)
        : (backend as Backend).set(this.namespace, key, this.#settings.codec.encode(entry), options);
    } catch (error) {
      // A value that cannot be encoded rejects, as every other failure of put() does.
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * How long the store keeps an entry: its freshness plus the grace for serve-stale, rounded up to the store's TTL
   * step; undefined for an entry that never expires.
   */
  #storeTtlMs(backend: AnyBackend, expire: number | null): number | undefined {
    if (expire === null) return undefined;
    const grace = this.#settings.graceSeconds ?? expire;
    return roundedTtlMs((expire + grace) * 1000, backend.capabilities);
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
