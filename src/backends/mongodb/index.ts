/**
 * `ext:mongodb`, through the official driver (`mongodb`, an optional peer dependency, loaded on first use).
 *
 * - `url` must name a default database (`mongodb://host/db`); or pass a connected `MongoClient` (never closed by us).
 * - One document per entry in the collection `table_name` (default `beaker_cache`; Beaker used `backer_cache`):
 *   `_id` is the SHA-256 of the namespace and of the key, `ns` the namespace's digest (indexed, matched exactly:
 *   Beaker's unescaped regex also cleared other namespaces), `expiresAt` a date under a TTL index, so the server
 *   removes expired documents by itself; reads also skip them before the TTL monitor (every 60 s) gets to them.
 * - Creation locks are lease documents in `<table_name>_lock`: an insert that fails on the duplicate `_id` when
 *   another holder has the lock, renewed while held, deleted by their holder only.
 * - Every operation has a socket timeout, and server selection fails after 5 s when the server is down.
 * @module
 */
import type { Collection, MongoClient } from 'mongodb';
import { BackendError, ConfigError } from '../../shared/errors.js';
import { loadClient } from '../kit/load-client.js';
import { MONGODB_DRIVER } from './descriptor.js';
import { namespaceDigest, sha256Hex } from '../kit/digest.js';
import { serverCapabilities } from '../kit/server-capabilities.js';
import { storeCommand } from '../../shared/store-command.js';
import { fetchByIds } from '../kit/batches.js';
import { ReadCoalescer } from '../kit/read-coalescer.js';
import { LeaseLockProvider, leaseMsOf } from '../../locks/lease.js';
import { RowLeaseStore, type InsertingLeaseRows } from '../../locks/row-leases.js';
import { systemTimers } from '../../shared/timers.js';
import type { Backend, BackendContext, BackendFactory, SetOptions } from '../contract.js';

/** Options of the ext:mongodb back-end. */
export interface MongodbBackendOptions {
  /** `mongodb://host:port/database` (the database is required), or a connected MongoClient. */
  url?: string | MongoClient;
  /** The collection (default `beaker_cache`). */
  table_name?: string | null;
  /** Lease of a creation lock whose holder stopped, in seconds. */
  lock_lease?: number | null;
}

interface EntryDocument {
  _id: string;
  ns: string;
  namespace: string;
  key: string;
  data: string;
  expiresAt: Date | null;
}

interface LockDocument {
  _id: string;
  token: string;
  expiresAt: Date;
}

const CAPABILITIES = serverCapabilities(false);
const DEFAULT_COLLECTION = 'beaker_cache';
const OPERATION_TIMEOUT_MS = 10_000;
const DUPLICATE_KEY = 11000;

/** Ids in one `$in`, and such queries in flight at once. */
const FIND_LIMITS = { batchSize: 1000, concurrency: 2 };

/** Is the document's entry live at `now` (the server's TTL monitor runs only every 60 s)? */
function isLive(document: EntryDocument, now: number): boolean {
  return document.expiresAt === null || document.expiresAt.getTime() > now;
}

function liveFilter(now: number): { $or: object[] } {
  return { $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date(now) } }] };
}

export class MongodbBackend implements Backend {
  readonly type = 'ext:mongodb';
  readonly capabilities = CAPABILITIES;
  readonly locks: LeaseLockProvider;
  readonly #client: MongoClient;
  readonly #owned: boolean;
  readonly #entries: Collection<EntryDocument>;
  readonly #clock: () => number;
  readonly #reads = new ReadCoalescer<EntryDocument | null>();

  constructor(
    client: MongoClient,
    owned: boolean,
    collections: { entries: Collection<EntryDocument>; locks: Collection<LockDocument> },
    leaseMs: number,
    context: BackendContext,
  ) {
    this.#client = client;
    this.#owned = owned;
    this.#entries = collections.entries;
    this.#clock = context.clock;
    this.locks = new LeaseLockProvider(
      new RowLeaseStore(mongoLeaseRows(collections.locks), context.timers ?? systemTimers),
      {
        prefix: 'lock:',
        leaseMs,
        backend: this.type,
        context,
        // Waking waiters through the server would need change streams (a replica set): the host's processes tell
        // each other instead.
        hostNotices: `${this.type} ${client.options.hosts.map(String).join(',')} ${collections.locks.namespace}`,
      },
    );
  }

  #run<R>(what: string, command: () => Promise<R>): Promise<R> {
    return storeCommand(this.type, what, command);
  }

  async #read(namespace: string, key: string): Promise<EntryDocument | null> {
    const id = `${namespaceDigest(namespace)}:${sha256Hex(key)}`;
    const found = await this.#reads.read(id, () =>
      this.#run('findOne', () => this.#entries.findOne({ _id: id })),
    );
    return found && isLive(found, this.#clock()) ? found : null;
  }

  async get(namespace: string, key: string): Promise<string | undefined> {
    return (await this.#read(namespace, key))?.data;
  }

  /** One `find({ _id: { $in } })` per {@link FIND_LIMITS} batch of distinct keys; expiry checked at one instant. */
  async getMany(namespace: string, keys: readonly string[]): Promise<(string | undefined)[]> {
    const ns = namespaceDigest(namespace);
    const documents = await fetchByIds(
      keys.map((key) => `${ns}:${sha256Hex(key)}`),
      FIND_LIMITS,
      async (batch) => {
        const found = await this.#run('find', () => this.#entries.find({ _id: { $in: batch } }).toArray());
        return new Map(found.map((document) => [document._id, document]));
      },
    );
    const now = this.#clock();
    return documents.map((document) => (document && isLive(document, now) ? document.data : undefined));
  }

  async set(namespace: string, key: string, data: string, options: SetOptions = {}): Promise<void> {
    const ns = namespaceDigest(namespace);
    const id = `${ns}:${sha256Hex(key)}`;
    this.#reads.forget(id);
    const expiresAt = options.ttlMs === undefined ? null : new Date(Math.ceil(this.#clock() + options.ttlMs));
    await this.#run('replaceOne', () =>
      this.#entries.replaceOne({ _id: id }, { ns, namespace, key, data, expiresAt }, { upsert: true }),
    );
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    const id = `${namespaceDigest(namespace)}:${sha256Hex(key)}`;
    this.#reads.forget(id);
    const { deletedCount } = await this.#run('deleteOne', () =>
      this.#entries.deleteOne({ _id: id, ...liveFilter(this.#clock()) }),
    );
    return deletedCount > 0;
  }

  async keys(namespace: string): Promise<string[]> {
    const filter = { ns: namespaceDigest(namespace), ...liveFilter(this.#clock()) };
    const found = await this.#run('find', () =>
      this.#entries.find(filter, { projection: { key: 1 } }).toArray(),
    );
    return found.map((document) => document.key);
  }

  async clear(namespace: string): Promise<void> {
    this.#reads.forgetAll();
    await this.#run('deleteMany', () => this.#entries.deleteMany({ ns: namespaceDigest(namespace) }));
  }

  async prune(): Promise<number> {
    const { deletedCount } = await this.#run('deleteMany', () =>
      this.#entries.deleteMany({ expiresAt: { $ne: null, $lte: new Date(this.#clock()) } }),
    );
    return deletedCount;
  }

  async close(): Promise<void> {
    await this.locks.close();
    if (this.#owned) await this.#client.close();
  }
}

/** Leases as documents, taken by a {@link RowLeaseStore}: the unique `_id` lets one insert win. */
function mongoLeaseRows(locks: Collection<LockDocument>): InsertingLeaseRows {
  return {
    leaseEndOf: async (key) => (await locks.findOne({ _id: key }))?.expiresAt.getTime(),
    ownerOf: async (key) => (await locks.findOne({ _id: key }))?.token,
    dropEnded: async (key, now) => {
      await locks.deleteOne({ _id: key, expiresAt: { $lte: new Date(now) } });
    },
    insertIfAbsent: async (key, token, leaseEnd) => {
      try {
        await locks.insertOne({ _id: key, token, expiresAt: new Date(leaseEnd) });
        return true;
      } catch (error) {
        if ((error as { code?: number }).code === DUPLICATE_KEY) return false;
        throw error;
      }
    },
    extend: async (key, token, leaseEnd) =>
      (await locks.updateOne({ _id: key, token }, { $set: { expiresAt: new Date(leaseEnd) } }))
        .matchedCount === 1,
    remove: async (key, token) => (await locks.deleteOne({ _id: key, token })).deletedCount === 1,
  };
}

function collectionName(value: unknown): string {
  if (value === undefined || value === null || value === '') return DEFAULT_COLLECTION;
  if (typeof value !== 'string' || value.includes('$') || value.startsWith('system.')) {
    throw new ConfigError('table_name must be a MongoDB collection name (no $, not system.*).', {
      option: 'table_name',
      value,
    });
  }
  return value;
}

function isClient(value: unknown): value is MongoClient {
  return typeof value === 'object' && value !== null && typeof (value as { db?: unknown }).db === 'function';
}

/** The database a URL names (`mongodb://host/db`), or a typed error. */
export function defaultDatabase(url: string): string {
  const match = /^mongodb(?:\+srv)?:\/\/[^/]*\/([^?]+)/.exec(url);
  const name = match?.[1] === undefined ? '' : decodeURIComponent(match[1]);
  if (name === '') {
    throw new ConfigError('url must name a default database: mongodb://host:port/database.', {
      option: 'url',
      value: url.replace(/\/\/[^@/]*@/, '//***@'),
    });
  }
  return name;
}

async function openCollections(
  client: MongoClient,
  database: string | undefined,
  collection: string,
): Promise<{ entries: Collection<EntryDocument>; locks: Collection<LockDocument> }> {
  const db = client.db(database);
  const entries = db.collection<EntryDocument>(collection);
  const locks = db.collection<LockDocument>(`${collection}_lock`);
  await entries.createIndex({ ns: 1 });
  await entries.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 }, undefined);
  await locks.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 }, undefined);
  return { entries, locks };
}

/** The factory registered as `ext:mongodb`. */
export const mongodbBackend: BackendFactory = async (options, context) => {
  const typed = options as MongodbBackendOptions;
  const collection = collectionName(typed.table_name);
  const leaseMs = leaseMsOf(typed);
  if (isClient(typed.url)) {
    const collections = await openCollections(typed.url, undefined, collection);
    return new MongodbBackend(typed.url, false, collections, leaseMs, context);
  }
  if (typeof typed.url !== 'string' || typed.url === '') {
    throw new ConfigError('ext:mongodb needs url: mongodb://host:port/database, or a MongoClient', {
      option: 'url',
      value: typed.url,
    });
  }
  const database = defaultDatabase(typed.url);
  const driver = await loadClient(MONGODB_DRIVER, 'The ext:mongodb back-end');
  const client = new driver.MongoClient(typed.url, {
    serverSelectionTimeoutMS: 5000,
    connectTimeoutMS: 5000,
    socketTimeoutMS: OPERATION_TIMEOUT_MS,
  });
  try {
    await client.connect();
    const collections = await openCollections(client, database, collection);
    return new MongodbBackend(client, true, collections, leaseMs, context);
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new BackendError('ext:mongodb', `cannot connect to ${database} on the MongoDB server`, {
      cause: error,
    });
  }
};
