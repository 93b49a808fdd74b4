/**
 * `ext:google`: Google Cloud Datastore (or Firestore in Datastore mode), through `@google-cloud/datastore` (an
 * optional peer dependency, loaded on first use; version 10 runs on Node 20).
 *
 * - One entity per entry, of kind `table_name` (default `beaker_cache`), named by the SHA-256 of its namespace and
 *   key; the namespace digest (`ns`) and `expires_at` are indexed. Beaker kept one pickled entity per namespace.
 * - `clear()` deletes the namespace's entities by a keys-only query on `ns`; `prune()` deletes expired ones.
 * - Creation locks are lease entities of kind `<table_name>_lock`, taken, renewed and released in transactions, so
 *   only one holder wins and only the holder can release.
 * - `url` points at another endpoint, such as the emulator (`http://127.0.0.1:8081`); without it the client uses
 *   `DATASTORE_EMULATOR_HOST` or Google's service with the application's default credentials.
 * @module
 */
import type { Datastore, Key, PropertyFilter } from '@google-cloud/datastore';
import { BackendError, ConfigError } from '../../shared/errors.js';
import { loadClient } from '../kit/load-client.js';
import { DATASTORE_CLIENT } from './descriptor.js';
import { namespaceDigest, sha256Hex } from '../kit/digest.js';
import { serverCapabilities } from '../kit/server-capabilities.js';
import { storeCommand } from '../../shared/store-command.js';
import { fetchByIds } from '../kit/batches.js';
import { ReadCoalescer } from '../kit/read-coalescer.js';
import { LeaseLockProvider, leaseMsOf } from '../../locks/lease.js';
import { RowLeaseStore, type SwappingLeaseRows } from '../../locks/row-leases.js';
import { systemTimers } from '../../shared/timers.js';
import type { Backend, BackendContext, BackendFactory, SetOptions } from '../contract.js';

/** Options of the ext:google back-end. */
export interface GoogleBackendOptions {
  /** The API endpoint, such as the emulator's `http://127.0.0.1:8081` (default: Google's). */
  url?: string | null;
  /** The Google Cloud project (default: from the environment or the credentials). */
  project_id?: string | null;
  /** The entity kind (default `beaker_cache`). */
  table_name?: string | null;
  /** A Datastore namespace (multi-tenancy) for every entity. */
  datastore_namespace?: string | null;
  /** A Datastore client the application made; it is then never closed by us. */
  bind?: Datastore;
  /** Lease of a creation lock whose holder stopped, in seconds. */
  lock_lease?: number | null;
}

interface EntryEntity {
  ns: string;
  namespace: string;
  entry_key: string;
  data: Buffer;
  expires_at: number | null;
}

interface LockEntity {
  token: string;
  expires_at: number;
}

const CAPABILITIES = serverCapabilities(false);
const DEFAULT_KIND = 'beaker_cache';
const CALL_TIMEOUT_MS = 10_000;
/**
 * Every call: a timeout, and no retries. The client retries reads that fail with UNAVAILABLE until the timeout, so
 * with Datastore down each read hung for the whole timeout; a store that is down must fail calls fast.
 */
const CALL_OPTIONS = { timeout: CALL_TIMEOUT_MS, retry: null };
/** Datastore takes at most 500 mutations per commit. */
const BATCH = 500;
const UNINDEXED = ['namespace', 'entry_key', 'data'];

/** Keys in one lookup (Datastore's limit), and such lookups in flight at once. */
const LOOKUP_LIMITS = { batchSize: 1000, concurrency: 2 };

/** The name of an entry's entity: the digests of its namespace and key. */
function entityName(namespace: string, key: string): string {
  return `${namespaceDigest(namespace)}:${sha256Hex(key)}`;
}

function isLive(entity: { expires_at: number | null }, now: number): boolean {
  return entity.expires_at === null || entity.expires_at > now;
}

export class GoogleBackend implements Backend {
  readonly type = 'ext:google';
  readonly capabilities = CAPABILITIES;
  readonly locks: LeaseLockProvider;
  readonly #client: Datastore;
  readonly #owned: boolean;
  readonly #kind: string;
  readonly #clock: () => number;
  readonly #reads = new ReadCoalescer<EntryEntity | undefined>();
  readonly #call = { gaxOptions: CALL_OPTIONS };
  readonly #filter: typeof PropertyFilter;

  constructor(
    client: Datastore,
    options: { owned: boolean; kind: string; leaseMs: number; filter: typeof PropertyFilter },
    context: BackendContext,
  ) {
    const { owned, kind, leaseMs } = options;
    this.#filter = options.filter;
    this.#client = client;
    this.#owned = owned;
    this.#kind = kind;
    this.#clock = context.clock;
    this.locks = new LeaseLockProvider(
      new RowLeaseStore(new DatastoreLeaseRows(client, `${kind}_lock`), context.timers ?? systemTimers),
      {
        prefix: 'lock:',
        leaseMs,
        backend: this.type,
        context,
        // Datastore cannot notify waiters: the processes of one host tell each other.
        hostNotices: [
          this.type,
          client.options.apiEndpoint ?? '',
          client.projectId,
          client.namespace ?? '',
          kind,
        ].join(' '),
      },
    );
  }

  #key(namespace: string, key: string): Key {
    return this.#client.key([this.#kind, entityName(namespace, key)]);
  }

  #run<R>(what: string, command: () => Promise<R>): Promise<R> {
    return storeCommand(this.type, what, command);
  }

  async #read(namespace: string, key: string): Promise<EntryEntity | undefined> {
    const target = this.#key(namespace, key);
    const entity = await this.#reads.read(target.name ?? '', async () => {
      const found = (await this.#run('lookup', () => this.#client.get(target, this.#call)))[0] as unknown;
      return found as EntryEntity | undefined;
    });
    return entity && isLive(entity, this.#clock()) ? entity : undefined;
  }

  async get(namespace: string, key: string): Promise<string | undefined> {
    return (await this.#read(namespace, key))?.data.toString('utf8');
  }

  /**
   * One lookup of many keys per {@link LOOKUP_LIMITS} batch of distinct keys (so one for up to 1000 keys; the client
   * asks again for any the service deferred); expiry checked as `get` checks it, at one instant.
   */
  async getMany(namespace: string, keys: readonly string[]): Promise<(string | undefined)[]> {
    const entities = await fetchByIds(
      keys.map((key) => entityName(namespace, key)),
      LOOKUP_LIMITS,
      async (batch) => {
        const targets = batch.map((name) => this.#client.key([this.#kind, name]));
        const found = (
          await this.#run('lookup', () => this.#client.get(targets, this.#call))
        )[0] as (EntryEntity & Record<symbol, Key | undefined>)[];
        const byName = new Map<string, EntryEntity>();
        for (const entity of found) {
          byName.set(entity[this.#client.KEY]?.name ?? '', entity);
        }
        return byName;
      },
    );
    const now = this.#clock();
    return entities.map((entity) =>
      entity && isLive(entity, now) ? entity.data.toString('utf8') : undefined,
    );
  }

  async set(namespace: string, key: string, data: string, options: SetOptions = {}): Promise<void> {
    const target = this.#key(namespace, key);
    this.#reads.forget(target.name ?? '');
    const entity: EntryEntity = {
      ns: namespaceDigest(namespace),
      namespace,
      entry_key: key,
      data: Buffer.from(data, 'utf8'),
      expires_at: options.ttlMs === undefined ? null : Math.ceil(this.#clock() + options.ttlMs),
    };
    await this.#run('upsert', () =>
      this.#client.save({ key: target, data: entity, excludeFromIndexes: UNINDEXED }, this.#call.gaxOptions),
    );
  }

  /** Deletes the entity; `undefined`: a Datastore delete does not say whether there was one, and no read asks. */
  async delete(namespace: string, key: string): Promise<undefined> {
    const target = this.#key(namespace, key);
    this.#reads.forget(target.name ?? '');
    await this.#run('delete', () => this.#client.delete(target, this.#call.gaxOptions));
    return undefined;
  }

  async keys(namespace: string): Promise<string[]> {
    const query = this.#client
      .createQuery(this.#kind)
      .filter(new this.#filter('ns', '=', namespaceDigest(namespace)));
    const [entities] = await this.#run('query', () => this.#client.runQuery(query, this.#call));
    const now = this.#clock();
    return (entities as EntryEntity[])
      .filter((entity) => isLive(entity, now))
      .map((entity) => entity.entry_key);
  }

  async clear(namespace: string): Promise<void> {
    this.#reads.forgetAll();
    const query = this.#client
      .createQuery(this.#kind)
      .filter(new this.#filter('ns', '=', namespaceDigest(namespace)))
      .select('__key__');
    await this.#deleteMatching(query);
  }

  async prune(): Promise<number> {
    // Null sorts before numbers in Datastore: the lower bound keeps entries without expiry out.
    const query = this.#client
      .createQuery(this.#kind)
      .filter(new this.#filter('expires_at', '>=', 0))
      .filter(new this.#filter('expires_at', '<=', this.#clock()))
      .select('__key__');
    return this.#deleteMatching(query);
  }

  async #deleteMatching(query: ReturnType<Datastore['createQuery']>): Promise<number> {
    const [entities] = await this.#run('query', () => this.#client.runQuery(query, this.#call));
    const keys = (entities as Record<symbol, Key>[]).map((entity) => entity[this.#client.KEY]) as Key[];
    for (let start = 0; start < keys.length; start += BATCH) {
      const batch = keys.slice(start, start + BATCH);
      await this.#run('delete', () => this.#client.delete(batch, this.#call.gaxOptions));
    }
    return keys.length;
  }

  async close(): Promise<void> {
    await this.locks.close();
    if (!this.#owned) return;
    // The gapic clients hold the gRPC channels.
    for (const stub of this.#client.clients_.values()) {
      await Promise.resolve((stub as { close?: () => unknown }).close?.());
    }
  }
}

/** Leases as entities, taken by a {@link RowLeaseStore} and changed only in transactions: two takers cannot both commit. */
class DatastoreLeaseRows implements SwappingLeaseRows {
  readonly #client: Datastore;
  readonly #kind: string;

  constructor(client: Datastore, kind: string) {
    this.#client = client;
    this.#kind = kind;
  }

  /** Runs `change` in a transaction; false when it declines or another transaction won. */
  async #transact(
    key: string,
    change: (lock: LockEntity | undefined, target: Key) => { save?: LockEntity; remove?: true } | undefined,
  ): Promise<boolean> {
    const target = this.#client.key([this.#kind, key]);
    const transaction = this.#client.transaction();
    try {
      await transaction.run({ gaxOptions: CALL_OPTIONS });
      const found = (await transaction.get(target, { gaxOptions: CALL_OPTIONS }))[0] as
        LockEntity | undefined;
      const decision = change(found, target);
      if (!decision) {
        await transaction.rollback(CALL_OPTIONS);
        return false;
      }
      if (decision.save) transaction.save({ key: target, data: decision.save });
      if (decision.remove) transaction.delete(target);
      await transaction.commit(CALL_OPTIONS);
      return true;
    } catch {
      // Contention (another holder committed first) or a failed call: not taken.
      await transaction.rollback(CALL_OPTIONS).catch(() => undefined);
      return false;
    }
  }

  /** A plain read, outside any transaction. */
  async leaseEndOf(key: string): Promise<number | undefined> {
    const found = await this.#client.get(this.#client.key([this.#kind, key]), { gaxOptions: CALL_OPTIONS });
    return (found[0] as LockEntity | undefined)?.expires_at;
  }

  async ownerOf(key: string): Promise<string | undefined> {
    const found = await this.#client.get(this.#client.key([this.#kind, key]), { gaxOptions: CALL_OPTIONS });
    return (found[0] as LockEntity | undefined)?.token;
  }

  setIfFree(key: string, token: string, now: number, leaseEnd: number): Promise<boolean> {
    return this.#transact(key, (lock) =>
      lock && lock.expires_at > now ? undefined : { save: { token, expires_at: leaseEnd } },
    );
  }

  extend(key: string, token: string, leaseEnd: number): Promise<boolean> {
    return this.#transact(key, (lock) =>
      lock?.token === token ? { save: { token, expires_at: leaseEnd } } : undefined,
    );
  }

  remove(key: string, token: string): Promise<boolean> {
    return this.#transact(key, (lock) => (lock?.token === token ? { remove: true } : undefined));
  }
}

function kindOf(value: unknown): string {
  if (value === undefined || value === null || value === '') return DEFAULT_KIND;
  if (typeof value !== 'string' || value.startsWith('__')) {
    throw new ConfigError('table_name must be a Datastore kind name (not starting with __).', {
      option: 'table_name',
      value,
    });
  }
  return value;
}

/** The factory registered as `ext:google`. */
export const googleBackend: BackendFactory = async (options, context) => {
  const typed = options as GoogleBackendOptions;
  const kind = kindOf(typed.table_name);
  const leaseMs = leaseMsOf(typed);
  const module = await loadClient(DATASTORE_CLIENT, 'The ext:google back-end');
  const settings = { kind, leaseMs, filter: module.PropertyFilter };
  if (typed.bind) return new GoogleBackend(typed.bind, { ...settings, owned: false }, context);
  const client = new module.Datastore({
    ...(typed.url ? { apiEndpoint: typed.url } : {}),
    ...(typed.project_id ? { projectId: typed.project_id } : {}),
    ...(typed.datastore_namespace ? { namespace: typed.datastore_namespace } : {}),
  });
  const backend = new GoogleBackend(client, { ...settings, owned: true }, context);
  // Fail at start-up, not on the first request, when the service cannot be reached.
  await backend.get('beaker-ts', 'connection-check').catch(async (error: unknown) => {
    await backend.close().catch(() => undefined);
    throw new BackendError('ext:google', `cannot reach Datastore${typed.url ? ` at ${typed.url}` : ''}`, {
      cause: error,
    });
  });
  return backend;
};
