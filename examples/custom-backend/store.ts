/**
 * The `nats-kv` back-end: one NATS JetStream key-value bucket (a stream `KV_<bucket>` keeping one message per key).
 *
 * - An entry is the key `e.<namespace token>.<key token>` (see names.ts); its value holds the key and its expiry
 *   (entry.ts), since NATS 2.9 has no per-message TTL: reads skip expired entries, `prune()` removes them.
 * - `delete()` and `clear()` purge the entry's subject, or the namespace's subjects, from the stream: nothing stays
 *   behind, where a KV delete would leave a delete marker per key.
 * - Creation locks are keys `l.<digest>` in the same bucket (lease-store.ts), so dog-pile protection holds across
 *   processes and hosts.
 * - Every command is bounded by the context's `commandTimeoutMs` (default 5 s), the JetStream client's timeout.
 * @module
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import {
  LeaseLockProvider,
  ReadCoalescer,
  commandError,
  leaseMsOf,
  loadClient,
  storeCommand,
  type Backend,
  type BackendCapabilities,
  type BackendContext,
  type SetOptions,
} from 'beaker-ts/backends/kit';
import { NATS_CLIENTS, type NatsClients, type NatsKvBackendOptions } from './descriptor.js';
import { decodeEntry, encodeEntry, isLive, type StoredEntry } from './entry.js';
import { NatsKvLeaseStore } from './lease-store.js';
import { ENTRY_PREFIX, LOCK_PREFIX, entryKeyOf, namespaceFilter } from './names.js';

const TYPE = 'nats-kv';
const DEFAULT_URL = 'nats://127.0.0.1:4222';
const DEFAULT_BUCKET = 'beaker-cache';
const DEFAULT_COMMAND_TIMEOUT_MS = 5000;

const CAPABILITIES: BackendCapabilities = {
  nativeTtl: false,
  sharedAcrossProcesses: true,
  sharedAcrossHosts: true,
  ttlResolutionMs: 1,
};

/** An entry as it came from the bucket, with its KV key and revision, so that `prune()` removes nothing newer. */
interface Found {
  entry: StoredEntry;
  id: string;
  revision: number;
}

/** The bucket's streams API, for purging subjects. */
type Streams = JetStreamManager['streams'];

export class NatsKvBackend implements Backend {
  readonly type = TYPE;
  readonly capabilities = CAPABILITIES;
  readonly locks: LeaseLockProvider;
  readonly #connection: NatsConnection;
  readonly #kv: KV;
  readonly #streams: Streams;
  readonly #stream: string;
  readonly #subjectPrefix: string;
  readonly #commandTimeoutMs: number;
  readonly #context: BackendContext;
  readonly #reads = new ReadCoalescer<KvEntry | null>();
  readonly #leases: NatsKvLeaseStore;

  constructor(
    store: { connection: NatsConnection; kv: KV; streams: Streams; bucket: string },
    options: { leaseMs: number; commandTimeoutMs: number },
    context: BackendContext,
  ) {
    this.#connection = store.connection;
    this.#kv = store.kv;
    this.#streams = store.streams;
    this.#stream = `KV_${store.bucket}`;
    this.#subjectPrefix = `$KV.${store.bucket}.`;
    this.#commandTimeoutMs = options.commandTimeoutMs;
    this.#context = context;
    this.#leases = new NatsKvLeaseStore(store.kv, context.timers);
    this.locks = new LeaseLockProvider(this.#leases, {
      prefix: LOCK_PREFIX,
      leaseMs: options.leaseMs,
      backend: TYPE,
      context,
    });
  }

  #run<R>(what: string, command: () => Promise<R>): Promise<R> {
    return storeCommand(TYPE, what, command);
  }

  /** The live entry (namespace, key), or undefined. */
  async #read(namespace: string, key: string): Promise<StoredEntry | undefined> {
    const id = entryKeyOf(namespace, key);
    const found = await this.#reads.read(id, () => this.#run('get', () => this.#kv.get(id)));
    const entry = found && this.#decode(found);
    // A different key under the same name can only be a digest collision: it is not this entry.
    return entry && entry.key === key && isLive(entry, this.#context.clock()) ? entry : undefined;
  }

  /** The entry a KV value holds; undefined for a delete marker, and for a value that is none (reported). */
  #decode(found: KvEntry): StoredEntry | undefined {
    if (found.operation !== 'PUT') return undefined;
    const entry = decodeEntry(found.value);
    if (!entry) {
      this.#context.report({
        type: 'corrupt-entry',
        backend: TYPE,
        message: `${found.key} holds no entry of this back-end`,
      });
    }
    return entry;
  }

  async get(namespace: string, key: string): Promise<string | undefined> {
    return (await this.#read(namespace, key))?.data;
  }

  async set(namespace: string, key: string, data: string, options: SetOptions = {}): Promise<void> {
    const id = entryKeyOf(namespace, key);
    const expiresAt = options.ttlMs === undefined ? null : Math.ceil(this.#context.clock() + options.ttlMs);
    this.#reads.forget(id);
    await this.#run('put', () => this.#kv.put(id, encodeEntry({ key, expiresAt, data })));
  }

  /** Purges the entry's subject; resolves to whether the purge removed a message (an entry, live or not). */
  async delete(namespace: string, key: string): Promise<boolean> {
    const id = entryKeyOf(namespace, key);
    this.#reads.forget(id);
    const purged = await this.#run('purge', () =>
      this.#streams.purge(this.#stream, { filter: this.#subjectPrefix + id }),
    );
    return purged.purged > 0;
  }

  async keys(namespace: string): Promise<string[]> {
    const now = this.#context.clock();
    const found = await this.#latest(namespaceFilter(namespace));
    return found.filter(({ entry }) => isLive(entry, now)).map(({ entry }) => entry.key);
  }

  async clear(namespace: string): Promise<void> {
    this.#reads.forgetAll();
    const filter = this.#subjectPrefix + namespaceFilter(namespace);
    await this.#run('purge', () => this.#streams.purge(this.#stream, { filter }));
  }

  /**
   * Removes expired entries, and the locks left behind: delete markers of released locks, leases whose holder
   * stopped. Each purge stops below the revision that was read, so a value written since stays.
   */
  async prune(): Promise<number> {
    const now = this.#context.clock();
    const expired = (await this.#latest(`${ENTRY_PREFIX}>`)).filter(({ entry }) => !isLive(entry, now));
    this.#reads.forgetAll();
    for (const { id, revision } of expired) await this.#purgeUpTo(id, revision);
    const leftovers = await this.#run('history', () => this.#lastValues(`${LOCK_PREFIX}>`));
    for (const lock of leftovers.values()) {
      if (this.#leases.isLeftover(lock)) await this.#purgeUpTo(lock.key, lock.revision);
    }
    return expired.length;
  }

  /** Purges the KV key `id` up to and including `revision`. */
  #purgeUpTo(id: string, revision: number): Promise<unknown> {
    return this.#run('purge', () =>
      this.#streams.purge(this.#stream, { filter: this.#subjectPrefix + id, seq: revision + 1 }),
    );
  }

  /** The last value of every key matching `filter`, read in one pass over the stream. */
  async #latest(filter: string): Promise<Found[]> {
    const latest = await this.#run('history', () => this.#lastValues(filter));
    return [...latest.values()].flatMap((found) => {
      const entry = this.#decode(found);
      return entry ? [{ entry, id: found.key, revision: found.revision }] : [];
    });
  }

  /**
   * The KV history of `filter`, ended by itself once it has delivered what the stream held, bounded by the command
   * timeout. The bucket keeps one value per key; a later value of a key replaces an earlier one in a bucket that was
   * created with more history.
   */
  async #lastValues(filter: string): Promise<Map<string, KvEntry>> {
    const history = await this.#kv.history({ key: filter });
    const latest = new Map<string, KvEntry>();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        history.stop();
        reject(new Error(`no end of the history after ${this.#commandTimeoutMs} ms`));
      }, this.#commandTimeoutMs);
    });
    const read = (async () => {
      for await (const found of history) latest.set(found.key, found);
      return latest;
    })();
    try {
      return await Promise.race([read, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.locks.close();
    await this.#connection.close();
  }
}

/** Opens the back-end: connects, and creates the bucket when it does not exist. */
export async function openNatsKvBackend(
  options: Readonly<NatsKvBackendOptions>,
  context: BackendContext,
  clients: NatsClients = NATS_CLIENTS,
): Promise<NatsKvBackend> {
  const usedBy = `The ${TYPE} back-end`;
  const [transport, jetstreamModule, kvModule] = await Promise.all([
    loadClient(clients.transport, usedBy),
    loadClient(clients.jetstream, usedBy),
    loadClient(clients.kv, usedBy),
  ]);
  const url = options.url ?? DEFAULT_URL;
  const bucket = options.bucket ?? DEFAULT_BUCKET;
  const commandTimeoutMs = context.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const connection = await transport
    .connect({
      servers: url.split(',').map((server) => server.trim()),
      name: 'beaker-ts nats-kv',
      timeout: commandTimeoutMs,
      // A server back-end outlives outages: keep reconnecting, while calls fail by their timeout meanwhile.
      maxReconnectAttempts: -1,
    })
    .catch((error: unknown) => {
      throw commandError(TYPE, `connecting to ${url}`, error);
    });
  try {
    const js = jetstreamModule.jetstream(connection, { timeout: commandTimeoutMs });
    // One value per key: an overwritten entry leaves nothing behind.
    const kv = await new kvModule.Kvm(js).create(bucket, { history: 1 });
    const streams = (await js.jetstreamManager()).streams;
    return new NatsKvBackend(
      { connection, kv, streams, bucket },
      { leaseMs: leaseMsOf(options), commandTimeoutMs },
      context,
    );
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw commandError(TYPE, `opening the bucket ${bucket} on ${url}`, error);
  }
}
