/**
 * The back-end contract: a store of text entries grouped in namespaces. Back-ends know storage only; caching and
 * sessions know this contract, not Redis or files.
 * @module
 */
import type { LockProvider } from '../locks/contract.js';
import type { Timers } from '../shared/timers.js';

/** What a back-end can do, so the core can adapt and the conformance suite can test the right things. */
export interface BackendCapabilities {
  /** Entries written with a TTL disappear by themselves (Redis, memcached); otherwise the back-end checks it on read. */
  nativeTtl: boolean;
  /** Several processes on one host see the same data (file, dbm, servers); not the memory back-end. */
  sharedAcrossProcesses: boolean;
  /** Several hosts see the same data (servers). */
  sharedAcrossHosts: boolean;
  /** The smallest TTL step the back-end honours, in milliseconds (memcached: 1000). */
  ttlResolutionMs: number;
}

/** Options of {@link Backend.set}. */
export interface SetOptions {
  /** Hard time to live in milliseconds: after it the entry is gone. Absent: kept until deleted. */
  ttlMs?: number;
}

/**
 * Storage of text entries by (namespace, key). Keys and namespaces are any strings (spaces, `../`, non-ASCII, very
 * long): each back-end maps them to what its storage accepts. A miss is `undefined`.
 */
export interface Backend {
  /** The type name it was created for, such as `file`. */
  readonly type: string;
  readonly capabilities: BackendCapabilities;
  /**
   * `text` (the default): entries are strings. `object`: the back-end keeps values as given, without serializing
   * them (the memory back-end with `serialize = false`).
   */
  readonly format?: 'text' | 'object';
  /** The entry, or `undefined` when absent or past its TTL. */
  get(namespace: string, key: string): Promise<unknown>;
  /** Stores an entry, replacing any previous one. */
  set(namespace: string, key: string, data: unknown, options?: SetOptions): Promise<void>;
  /** Deletes an entry; resolves to whether there was one. */
  delete(namespace: string, key: string): Promise<boolean>;
  /** Is there an entry (within its TTL)? */
  has(namespace: string, key: string): Promise<boolean>;
  /** The keys of the namespace's live entries. */
  keys(namespace: string): Promise<string[]>;
  /** Deletes every entry of one namespace, and nothing else. */
  clear(namespace: string): Promise<void>;
  /** Removes entries past their TTL and leftovers; resolves to how many it removed. */
  prune?(): Promise<number>;
  /** A lock provider shared by every process using this store, when the back-end has one. */
  readonly locks?: LockProvider;
  /** Releases connections, handles and timers this back-end opened (never a client the user passed in). */
  close(): Promise<void>;
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
) => Backend | Promise<Backend>;
