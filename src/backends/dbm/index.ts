/**
 * `dbm`: an embedded on-disk key-value store that several processes use at once: LMDB, through the `lmdb` package
 * (an optional peer dependency, loaded on first use). One database under `<data_dir>/container_dbm` (or `dbm_dir`)
 * holds every namespace; each entry is one record, written in a transaction, so a killed process never leaves a torn
 * entry. Reads are memory-mapped.
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import { BackendError } from '../../shared/errors.js';
import { loadClient } from '../kit/load-client.js';
import { LMDB } from './descriptor.js';
import type { FileLockProvider } from '../../locks/file-lock.js';
import type { Backend, BackendContext, BackendFactory, SetOptions } from '../contract.js';
import { sha256Hex } from '../kit/digest.js';
import { ON_DISK_CAPABILITIES, dataDirectory, hostLocks } from '../kit/on-disk.js';

/** Options of the dbm back-end. */
export interface DbmBackendOptions {
  /** Parent of the `container_dbm` data directory. */
  data_dir?: string | null;
  /** The data directory itself (instead of `<data_dir>/container_dbm`). */
  dbm_dir?: string | null;
  /** Directory of the cross-process creation locks (default `<data_dir>/container_dbm_lock`). */
  lock_dir?: string | null;
  /** Lease of a creation lock whose holder stopped, in seconds. */
  lock_lease?: number | null;
  /** Beaker's dbm module choice; this back-end always uses LMDB, so it is accepted and ignored. */
  dbmmodule?: string | null;
}

/** One stored record. */
interface DbmRecord {
  /** The key as given. */
  k: string;
  /** Hard expiry in ms since the epoch, or null. */
  x: number | null;
  /** The data. */
  d: string;
}

/** LMDB keys are at most 1978 bytes; longer keys are stored under their digest. */
const MAX_RAW_KEY_BYTES = 1024;
const DATABASE_FILE = 'beaker.mdb';

/** All records of a namespace share this prefix; a digest keeps it fixed-length whatever the namespace. */
function namespacePrefix(namespace: string): string {
  return `${sha256Hex(namespace).slice(0, 32)}:`;
}

/**
 * The LMDB key of an entry: the key itself after the namespace prefix, or `#` and its digest when too long. A key
 * that itself starts with `#` (or `=`) is escaped with `=`, so that no key given by a caller can reach the digest of
 * another, long key (which would let a short key read or overwrite a long key's entry).
 */
function recordKey(namespace: string, key: string): string {
  const escaped = key.startsWith('#') || key.startsWith('=') ? `=${key}` : key;
  const raw = `${namespacePrefix(namespace)}${escaped}`;
  return Buffer.byteLength(raw) <= MAX_RAW_KEY_BYTES
    ? raw
    : `${namespacePrefix(namespace)}#${sha256Hex(key)}`;
}

export class DbmBackend implements Backend {
  readonly type = 'dbm';
  readonly capabilities = ON_DISK_CAPABILITIES;
  readonly locks: FileLockProvider | undefined;
  readonly #root: RootDatabase;
  readonly #db: Database<DbmRecord, string>;
  readonly #context: BackendContext;

  constructor(root: RootDatabase, locks: FileLockProvider | undefined, context: BackendContext) {
    this.#root = root;
    this.#db = root as unknown as Database<DbmRecord, string>;
    this.locks = locks;
    this.#context = context;
  }

  /**
   * Moves reads to the newest snapshot. LMDB keeps a read transaction across calls until a later event turn, so a
   * read right after another process's write (a session saved under a lock that process just released) could see
   * the data from before it: a deleted session came back in 1 of 200 logouts across processes.
   */
  #latest(): void {
    this.#root.resetReadTxn();
  }

  #live(namespace: string, key: string, now = this.#context.clock()): DbmRecord | undefined {
    this.#latest();
    return this.#record(namespace, key, now);
  }

  /** The live record of `key` in the current read snapshot. */
  #record(namespace: string, key: string, now: number): DbmRecord | undefined {
    const record = this.#db.get(recordKey(namespace, key));
    if (record === undefined) return undefined;
    if (typeof record !== 'object' || typeof record.d !== 'string') {
      this.#context.report({
        type: 'corrupt-entry',
        backend: 'dbm',
        namespace,
        key,
        message: 'unreadable record',
      });
      return undefined;
    }
    // The record says which key it holds: a record under this LMDB key for another key is not this key's entry.
    if (record.k !== key) return undefined;
    return record.x !== null && record.x <= now ? undefined : record;
  }

  get(namespace: string, key: string): Promise<string | undefined> {
    return Promise.resolve(this.#live(namespace, key)?.d);
  }

  /**
   * Every key read from one snapshot, at one instant: memory-mapped reads, synchronous like `get`'s, so no file is
   * opened and there is nothing to bound.
   */
  getMany(namespace: string, keys: readonly string[]): Promise<(string | undefined)[]> {
    const now = this.#context.clock();
    this.#latest();
    return Promise.resolve(keys.map((key) => this.#record(namespace, key, now)?.d));
  }

  async set(namespace: string, key: string, data: string, options: SetOptions = {}): Promise<void> {
    const x = options.ttlMs === undefined ? null : this.#context.clock() + options.ttlMs;
    try {
      await this.#db.put(recordKey(namespace, key), { k: key, x, d: data });
    } catch (error) {
      throw new BackendError('dbm', 'cannot write an entry', { cause: error });
    }
  }

  /**
   * Removes the record. LMDB's `remove` resolves to true whether or not the key existed, so a memory-mapped lookup
   * of the key (no decoding, no expiry check: an expired record not pruned yet counts) tells it first.
   */
  async delete(namespace: string, key: string): Promise<boolean> {
    const id = recordKey(namespace, key);
    this.#latest();
    const existed = this.#db.doesExist(id);
    await this.#db.remove(id);
    return existed;
  }

  #range(namespace: string): { start: string; end: string } {
    const prefix = namespacePrefix(namespace);
    // ';' follows ':' in code-point order, so the range holds exactly the keys starting with the prefix.
    return { start: prefix, end: `${prefix.slice(0, -1)};` };
  }

  keys(namespace: string): Promise<string[]> {
    const now = this.#context.clock();
    const keys: string[] = [];
    this.#latest();
    for (const { value } of this.#db.getRange(this.#range(namespace))) {
      if (value.x === null || value.x > now) keys.push(value.k);
    }
    return Promise.resolve(keys);
  }

  async clear(namespace: string): Promise<void> {
    await this.#db.transaction(() => {
      for (const key of this.#db.getKeys(this.#range(namespace))) void this.#db.remove(key);
    });
  }

  async prune(): Promise<number> {
    const now = this.#context.clock();
    let removed = 0;
    await this.#db.transaction(() => {
      for (const { key, value } of this.#db.getRange()) {
        if (typeof value !== 'object' || (value.x !== null && value.x <= now)) {
          void this.#db.remove(key);
          removed += 1;
        }
      }
    });
    return removed;
  }

  async close(): Promise<void> {
    await this.#root.close();
  }
}

/** The factory registered as `dbm`. */
export const dbmBackend: BackendFactory = async (options, context) => {
  const dir = dataDirectory(options, 'dbm_dir', 'container_dbm');
  const { open } = await loadClient(LMDB, 'The dbm back-end');
  await mkdir(dir, { recursive: true });
  const root = open({ path: join(dir, DATABASE_FILE), compression: false });
  return new DbmBackend(root, hostLocks(options, 'container_dbm', 'dbm', context), context);
};
