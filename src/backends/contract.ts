/**
 * The back-end contract: a store of text entries grouped in namespaces. Back-ends know storage only; caching and
 * sessions know this contract, not Redis or files.
 * @module
 */
import type { LockProvider } from '../locks/contract.js';
import type { Timers } from '../shared/timers.js';

/** What a back-end can do: the core acts on it, and the conformance suite tests accordingly. */
export interface BackendCapabilities {
  /**
   * Entries written with a TTL disappear by themselves (Redis, memcached). When false, the cache treats an entry
   * past its TTL as a miss whatever `get` returns, and `prune()` is what removes such entries.
   */
  nativeTtl: boolean;
  /** Several processes on one host see the same data (file, dbm, servers); not the memory back-end. */
  sharedAcrossProcesses: boolean;
  /** Several hosts see the same data (servers). */
  sharedAcrossHosts: boolean;
  /**
   * The smallest TTL step the back-end honours, in milliseconds (memcached: 1000). The core rounds every `ttlMs` up
   * to a whole number of steps before it calls `set`, so a store that counts in steps never drops an entry early.
   */
  ttlResolutionMs: number;
}

/** Options of {@link Backend.set}. */
export interface SetOptions {
  /**
   * Hard time to live in milliseconds: after it the entry is gone. From the core, a whole multiple of the
   * back-end's `ttlResolutionMs`. Absent: kept until deleted.
   */
  ttlMs?: number;
}

/** The members every back-end has, whatever it stores: see {@link Backend}. */
export interface BackendBase {
  /** The type name it was created for, such as `file`. */
  readonly type: string;
  readonly capabilities: BackendCapabilities;
  /**
   * Deletes an entry, in one store command: resolves to `true` when there was one, `false` when there was none, and
   * `undefined` when the store cannot tell without another command (a back-end never sends one only to answer
   * this). A store without native TTL may answer `true` for an entry past its TTL that `prune()` had not removed.
   */
  delete(namespace: string, key: string): Promise<boolean | undefined>;
  /**
   * Is there an entry? Optional: without it the core asks `get`; implement it only when the store answers more
   * cheaply than a read (Redis `EXISTS`).
   */
  has?(namespace: string, key: string): Promise<boolean>;
  /** The keys of the namespace's entries (a store without native TTL may list expired ones until `prune()`). */
  keys(namespace: string): Promise<string[]>;
  /** Deletes every entry of one namespace, and nothing else. */
  clear(namespace: string): Promise<void>;
  /**
   * Removes entries past their TTL and leftovers; resolves to how many it removed. A store without native TTL
   * needs it: nothing else removes its expired entries.
   */
  prune?(): Promise<number>;
  /** A lock provider shared by every process using this store, when the back-end has one. */
  readonly locks?: LockProvider;
  /** Releases connections, handles and timers this back-end opened (never a client the user passed in). */
  close(): Promise<void>;
}

/**
 * The contract to implement: storage of text entries by (namespace, key). Keys and namespaces are any strings
 * (spaces, `../`, non-ASCII, very long): each back-end maps them to what its storage accepts. A miss is `undefined`.
 *
 * Expiry: a store with native TTL (`capabilities.nativeTtl`) returns nothing past an entry's `ttlMs`. A store
 * without it may still return such an entry from `get`, `has` and `keys` (the core checks the entry's own expiry and
 * counts it as a miss), but must remove it in `prune()`. beaker-ts's own back-ends filter them on read all the same.
 * Write yours as `class MyStore implements Backend` (docs/backends.md, "Writing a back-end").
 */
export interface Backend extends BackendBase {
  /** Entries are text; absent means the same. */
  readonly format?: 'text';
  /** The entry, or `undefined` when absent (or, with native TTL, past its TTL). */
  get(namespace: string, key: string): Promise<string | undefined>;
  /**
   * Optional, for stores in this process only: a synchronous `get`, answering exactly what `get` would resolve to
   * (and throwing where it would reject). The core then answers a hit without waiting on the store, and
   * `Cache.peek` needs it. A wrapper or subclass that observes reads (a counter, a fault injector) must observe
   * `peek` as well as `get`, or leave it out.
   */
  peek?(namespace: string, key: string): string | undefined;
  /**
   * Optional: the entries of several keys of one namespace, in the order of `keys` (`undefined` for each miss, as
   * `get` would resolve), in as few store round trips as the store allows (one `MGET`, one `SELECT ... IN`, one
   * lookup). Without it the core calls `get` per key (see {@link getEntries}). Each position answers what `get` of
   * its key would: an entry past its TTL is a miss where `get` misses it, a key given twice has its entry at both
   * positions, and an empty `keys` resolves to `[]` without a round trip. It rejects where a `get` would.
   */
  getMany?(namespace: string, keys: readonly string[]): Promise<(string | undefined)[]>;
  /** Stores an entry, replacing any previous one. */
  set(namespace: string, key: string, data: string, options?: SetOptions): Promise<void>;
}

/**
 * A back-end in this process that keeps values rather than text: the memory back-end. With `copies` (its default,
 * `serialize = true`) it keeps and hands out copies, exactly as a round trip through the default codec's text would
 * give them; without (`serialize = false`) it keeps the values themselves, which callers then share. The core
 * stores its cache entries there as objects (as text when the cache has its own `data_serializer`).
 */
export interface ObjectBackend extends BackendBase {
  readonly format: 'object';
  /** Values are stored and returned as copies (`true`), or kept as given and shared (absent or `false`). */
  readonly copies?: boolean;
  /** The value as it was set (or a copy of it), or `undefined` when absent. */
  get(namespace: string, key: string): Promise<unknown>;
  /** As {@link Backend.peek}: optional, a synchronous `get` for stores in this process. */
  peek?(namespace: string, key: string): unknown;
  /** As {@link Backend.getMany}: optional, the values of several keys, in the order of `keys`. */
  getMany?(namespace: string, keys: readonly string[]): Promise<unknown[]>;
  /** Stores a value (or a copy of it), replacing any previous one. */
  set(namespace: string, key: string, data: unknown, options?: SetOptions): Promise<void>;
}

/** What a factory opens and the core holds: a {@link Backend}, or an {@link ObjectBackend}, told apart by `format`. */
export type AnyBackend = Backend | ObjectBackend;

/** Is there an entry? The back-end's own `has` when it has one, else a `get`. */
export function hasEntry(backend: AnyBackend, namespace: string, key: string): Promise<boolean> {
  if (backend.has) return backend.has(namespace, key);
  return backend.get(namespace, key).then((data) => data !== undefined);
}

/**
 * The entries of `keys` of one namespace, in the order of `keys` (`undefined` for each miss): the back-end's own
 * `getMany` when it has one (one round trip on most stores), else one `get` per key, all at once. An empty `keys`
 * resolves to `[]` and asks the store nothing.
 *
 * @example const [user, settings] = await getEntries(backend, 'profiles', ['user:1', 'settings:1']);
 */
export function getEntries(
  backend: Backend,
  namespace: string,
  keys: readonly string[],
): Promise<(string | undefined)[]>;
export function getEntries(
  backend: AnyBackend,
  namespace: string,
  keys: readonly string[],
): Promise<unknown[]>;
export async function getEntries(
  backend: AnyBackend,
  namespace: string,
  keys: readonly string[],
): Promise<unknown[]> {
  if (keys.length === 0) return [];
  if (backend.getMany) return backend.getMany(namespace, keys);
  return Promise.all(keys.map((key) => backend.get(namespace, key)));
}

/** `ttlMs` rounded up to a whole number of the back-end's TTL steps. */
export function roundedTtlMs(ttlMs: number, capabilities: BackendCapabilities): number {
  const step = capabilities.ttlResolutionMs;
  return step > 0 ? Math.ceil(ttlMs / step) * step : ttlMs;
}

/** What a back-end factory receives besides its options. */
export interface BackendContext {
  /** The current time in milliseconds since the epoch, for entries' TTLs (injectable for tests). */
  clock: () => number;
  /**
   * The clock and timers of locks, leases, waits and command timeouts; absent: the host's. Separate from `clock`,
   * which may be frozen or far ahead in tests while leases must still run out and waits end.
   */
  timers?: Timers;
  /**
   * How long one store command may take before it fails, in ms; absent: the back-end's default (5 s for Redis and
   * memcached commands, 10 s for SQL statements).
   */
  commandTimeoutMs?: number;
  /** Reports a problem that is not an error for the caller (a corrupt file, a lock lost). */
  report: (event: BackendEvent) => void;
}

/** A problem a back-end reports without failing the operation. */
export interface BackendEvent {
  type: 'corrupt-entry' | 'lock-compromised' | 'backend-warning';
  backend: string;
  message: string;
  namespace?: string;
  key?: string;
  error?: unknown;
}

/** Builds a back-end from its options (the cache or region options: `data_dir`, `url`, ...). */
export type BackendFactory = (
  options: Readonly<Record<string, unknown>>,
  context: BackendContext,
) => AnyBackend | Promise<AnyBackend>;
