/**
 * `ext:redis` and `ext:rediscluster`. `ext:redis` goes through node-redis (the `redis` package) or ioredis, chosen
 * by `redis_module`; `ext:rediscluster` through ioredis. Both are optional peer dependencies, loaded on first use.
 *
 * - Entries are `beaker:<namespace digest>:<key>` (keys over 900 bytes, or starting with `#`, are stored under
 *   their SHA-256 and keep the original key in the value), written with a native TTL (`PX`).
 * - `getMany()` is one MGET per 1000 keys; on a cluster one per hash slot (a multi-key command across slots fails
 *   with CROSSSLOT), all sent at once.
 * - `clear()` SCANs the namespace's prefix (on every master of a cluster) and UNLINKs what it finds: no FLUSHALL, no
 *   KEYS, and other namespaces or applications are never touched.
 * - Creation locks work across hosts: `SET NX PX` with an owner token, renewed while held, released only by their
 *   owner (compare-and-delete), and waiters woken through pub/sub, with a short capped poll as the fallback.
 * - Every command has a timeout, so a server that is down fails calls instead of hanging them.
 * @module
 */
import type { Cluster, Redis } from 'ioredis';
import { ConfigError } from '../../shared/errors.js';
import { namespaceDigest, remembered, sha256Hex } from '../kit/digest.js';
import { fetchByIds } from '../kit/batches.js';
import { serverCapabilities } from '../kit/server-capabilities.js';
import { commandError, commandFailure, storeCommand } from '../../shared/store-command.js';
import { entryOfLockName } from '../../locks/contract.js';
import { LeaseLockProvider, leaseMsOf, type LeaseStore } from '../../locks/lease.js';
import { ReleaseWaiters } from '../../locks/release-waiters.js';
import { systemTimers, type Timers } from '../../shared/timers.js';
import type { Backend, BackendContext, BackendFactory, SetOptions } from '../contract.js';
import {
  fromIoredis,
  fromNodeRedis,
  isNodeRedis,
  openIoredisCluster,
  openRedisClient,
  type NodeRedisLike,
  type RedisClient,
  type RedisNode,
  type RedisSubscriber,
} from './clients.js';

export type { RedisClient } from './clients.js';

/** Options of the Redis back-ends. */
export interface RedisBackendOptions {
  /**
   * `redis://` or `rediss://` URL (ext:redis), or a connected client (node-redis or ioredis), which is then never
   * closed by us.
   */
  url?: string | Redis | Cluster | NodeRedisLike;
  /** ext:redis: the client library, `auto` (node-redis if installed, else ioredis), `redis` or `ioredis`. */
  redis_module?: string | null;
  /** Comma-separated `redis://host:port` URLs of cluster nodes (ext:rediscluster), or an ioredis Cluster. */
  urls?: string | Cluster;
  /** Default TTL in seconds for entries written without one (Beaker's redis `timeout`). */
  timeout?: number | string | null;
  /** Lease of a creation lock whose holder stopped, in seconds. */
  lock_lease?: number | null;
}

const CAPABILITIES = serverCapabilities(true);
const PREFIX = 'beaker:';
const MAX_RAW_KEY_BYTES = 900;
const SCAN_COUNT = 500;
/** Keys in one MGET: a longer one would hold the server (which runs one command at a time) for longer. */
const MGET_LIMITS = { batchSize: 1000, concurrency: 8 };
const RENEW_SCRIPT =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
const RELEASE_SCRIPT =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

const namespacePrefixes = new Map<string, string>();

function namespacePrefix(namespace: string): string {
  return remembered(
    namespacePrefixes,
    namespace,
    (name) => `${PREFIX}${namespaceDigest(name).slice(0, 32)}:`,
  );
}

function isHashedKey(key: string): boolean {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most keys need no byte count.
  return (
    key.startsWith('#') || (key.length * 3 > MAX_RAW_KEY_BYTES && Buffer.byteLength(key) > MAX_RAW_KEY_BYTES)
  );
}

/** The Redis key of an entry. */
export function storageKey(namespace: string, key: string, hashed = isHashedKey(key)): string {
  return `${namespacePrefix(namespace)}${hashed ? `#${sha256Hex(key)}` : key}`;
}

const LOCK_PREFIX = `${PREFIX}lock:`;

/**
 * The key of an entry's lock: its entry's key as a hash tag, so a Redis Cluster keeps both on one master and a
 * master that fails stalls only its own entries' creations and session saves. An entry key holding a `}` would end
 * the tag early: its lock keeps the default key (a digest of the name).
 */
export function entryLockKey(lockName: string): string | undefined {
  const entry = entryOfLockName(lockName);
  if (!entry) return undefined;
  const stored = storageKey(entry.namespace, entry.key);
  return stored.includes('}') ? undefined : `${LOCK_PREFIX}{${stored}}`;
}

/** A GET reply as the back-end returns it: a missing key is `undefined`. */
const nullAsMissing = (value: string | null): string | undefined => value ?? undefined;
/** The same for an entry stored under its key's digest: the original key's line comes off. */
const afterKeyLine = (value: string | null): string | undefined =>
  value === null ? undefined : value.slice(value.indexOf('\n') + 1);
const nothing = (): void => undefined;

export class RedisBackend implements Backend {
  readonly type: string;
  readonly capabilities = CAPABILITIES;
  readonly locks: LeaseLockProvider;
  readonly #client: RedisClient;
  readonly #owned: boolean;
  readonly #defaultTtlMs: number | undefined;
  readonly #getFailed: (error: unknown) => never;
  readonly #setFailed: (error: unknown) => never;

  constructor(
    type: string,
    client: RedisClient,
    owned: boolean,
    options: RedisBackendOptions,
    context: BackendContext,
  ) {
    this.type = type;
    this.#getFailed = commandFailure(type, 'GET');
    this.#setFailed = commandFailure(type, 'SET');
    this.#client = client;
    this.#owned = owned;
    const timeout = Number(options.timeout);
    this.#defaultTtlMs = Number.isFinite(timeout) && timeout > 0 ? timeout * 1000 : undefined;
    const leaseMs = leaseMsOf(options);
    this.locks = redisLocks(client, leaseMs, context, type);
  }

  #run<R>(what: string, command: () => Promise<R>): Promise<R> {
    return storeCommand(this.type, what, command);
  }

  get(namespace: string, key: string): Promise<string | undefined> {
    // No closure per call: this is the hot path of every cache hit.
    const hashed = isHashedKey(key);
    let reply: Promise<string | null>;
    try {
      reply = this.#client.get(storageKey(namespace, key, hashed));
    } catch (error) {
      return Promise.reject(commandError(this.type, 'GET', error));
    }
    return reply.then(hashed ? afterKeyLine : nullAsMissing, this.#getFailed);
  }

  /**
   * One MGET per {@link MGET_LIMITS} batch of distinct keys (so one for up to 1000 keys); on a cluster, one per hash
   * slot (see {@link RedisClient.getMany}). Each value is decoded as `get` decodes it.
   */
  async getMany(namespace: string, keys: readonly string[]): Promise<(string | undefined)[]> {
    const hashed = keys.map(isHashedKey);
    const stored = keys.map((key, index) => storageKey(namespace, key, hashed[index]));
    const values = await fetchByIds(stored, MGET_LIMITS, (batch) =>
      this.#run('MGET', async () => {
        const replies = await this.#client.getMany(batch);
        return new Map(batch.map((name, index) => [name, replies[index] ?? null]));
      }),
    );
    return values.map((value, index) => (hashed[index] ? afterKeyLine : nullAsMissing)(value ?? null));
  }

  set(namespace: string, key: string, data: string, options: SetOptions = {}): Promise<void> {
    const hashed = isHashedKey(key);
    const value = hashed ? `${JSON.stringify(key)}\n${data}` : data;
    const ttlMs = options.ttlMs ?? this.#defaultTtlMs;
    let reply: Promise<boolean>;
    try {
      reply = this.#client.set(
        storageKey(namespace, key, hashed),
        value,
        ttlMs === undefined ? undefined : Math.max(1, Math.ceil(ttlMs)),
      );
    } catch (error) {
      return Promise.reject(commandError(this.type, 'SET', error));
    }
    return reply.then(nothing, this.#setFailed);
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    return (await this.#run('DEL', () => this.#client.del(storageKey(namespace, key)))) > 0;
  }

  async has(namespace: string, key: string): Promise<boolean> {
    return (await this.#run('EXISTS', () => this.#client.exists(storageKey(namespace, key)))) > 0;
  }

  async keys(namespace: string): Promise<string[]> {
    const prefix = namespacePrefix(namespace);
    const keys: string[] = [];
    for (const { names } of await this.#scan(prefix)) {
      for (const name of names) {
        const rest = name.slice(prefix.length);
        if (!rest.startsWith('#')) {
          keys.push(rest);
          continue;
        }
        const value = await this.#run('GET', () => this.#client.get(name));
        if (value !== null) keys.push(JSON.parse(value.slice(0, value.indexOf('\n'))) as string);
      }
    }
    return keys;
  }

  async clear(namespace: string): Promise<void> {
    // Each master UNLINKs the keys its SCAN returned: they live on it, whatever their slots.
    for (const { node, names } of await this.#scan(namespacePrefix(namespace))) {
      for (let start = 0; start < names.length; start += SCAN_COUNT) {
        const batch = names.slice(start, start + SCAN_COUNT);
        await this.#run('UNLINK', () => node.unlink(batch));
      }
    }
  }

  /** The keys under `prefix`, by SCAN on each master (the one server, or every master of a cluster). */
  async #scan(prefix: string): Promise<{ node: RedisNode; names: string[] }[]> {
    const found: { node: RedisNode; names: string[] }[] = [];
    for (const node of this.#client.masters()) {
      const names = new Set<string>();
      let cursor = '0';
      do {
        const [next, batch] = await this.#run('SCAN', () => node.scan(cursor, `${prefix}*`, SCAN_COUNT));
        cursor = next;
        for (const name of batch) names.add(name);
      } while (cursor !== '0');
      found.push({ node, names: [...names] });
    }
    return found;
  }

  async close(): Promise<void> {
    await this.locks.close();
    if (this.#owned) await this.#client.quit();
  }
}

/**
 * Leases on Redis: `SET key token NX PX lease`; renewed and released by compare-and-PEXPIRE / compare-and-DEL
 * scripts, so only the holder can; a release PUBLISHes on the lock's channel, which wakes waiters at once.
 */
export class RedisLeaseStore implements LeaseStore {
  readonly #client: RedisClient;
  #subscriber: RedisSubscriber | undefined;
  readonly #waiters: ReleaseWaiters;

  /** `timers`: what ends the waits no release message cuts short. */
  constructor(client: RedisClient, timers: Timers = systemTimers) {
    this.#client = client;
    this.#waiters = new ReleaseWaiters(timers);
  }

  take(key: string, token: string, leaseMs: number): Promise<boolean> {
    return this.#client.set(key, token, leaseMs, true);
  }

  async renew(key: string, token: string, leaseMs: number): Promise<boolean> {
    return Number(await this.#client.eval(RENEW_SCRIPT, [key], [token, String(leaseMs)])) === 1;
  }

  async owner(key: string): Promise<string | undefined> {
    return (await this.#client.get(key)) ?? undefined;
  }

  async release(key: string, token: string): Promise<boolean> {
    const deleted = Number(await this.#client.eval(RELEASE_SCRIPT, [key], [token])) === 1;
    if (deleted) await this.#client.publish(channelOf(key), 'released').catch(() => undefined);
    return deleted;
  }

  /** Resolves when the lock's channel says it was released, or after `ms` (pub/sub can lose messages). */
  async waitForRelease(key: string, ms: number): Promise<void> {
    const channel = channelOf(key);
    const subscriber = this.#subscriberClient();
    const first = !this.#waiters.has(channel);
    const released = this.#waiters.wait(channel, ms);
    if (first) await subscriber.subscribe(channel).catch(() => undefined);
    await released;
    if (!this.#waiters.has(channel)) await subscriber.unsubscribe(channel).catch(() => undefined);
  }

  #subscriberClient(): RedisSubscriber {
    this.#subscriber ??= this.#client.subscriber((channel) => {
      this.#waiters.wake(channel);
    });
    return this.#subscriber;
  }

  async close(): Promise<void> {
    await this.#subscriber?.quit();
    this.#subscriber = undefined;
  }
}

function channelOf(lockKey: string): string {
  return lockKey.replace(LOCK_PREFIX, `${PREFIX}lockch:`);
}

/** The Redis creation locks of a client (an ioredis or node-redis client is adapted). */
export function redisLocks(
  client: RedisClient | Redis | Cluster | NodeRedisLike,
  leaseMs: number,
  context: BackendContext,
  backend = 'ext:redis',
): LeaseLockProvider {
  return new LeaseLockProvider(new RedisLeaseStore(adapt(client), context.timers), {
    prefix: LOCK_PREFIX,
    keyOf: entryLockKey,
    leaseMs,
    backend,
    context,
  });
}

function isRedisClient(value: unknown): value is RedisClient {
  return typeof value === 'object' && value !== null && 'library' in value && 'masters' in value;
}

/** A client passed in code, as a {@link RedisClient}. */
function adapt(client: RedisClient | Redis | Cluster | NodeRedisLike): RedisClient {
  if (isRedisClient(client)) return client;
  return isNodeRedis(client) ? fromNodeRedis(client) : fromIoredis(client);
}

function isGivenClient(value: unknown): value is Redis | Cluster | NodeRedisLike {
  return (
    typeof value === 'object' && value !== null && typeof (value as { get?: unknown }).get === 'function'
  );
}

function redisModuleOf(options: RedisBackendOptions): string {
  const module = options.redis_module ?? 'auto';
  if (module !== 'auto' && module !== 'redis' && module !== 'ioredis') {
    throw new ConfigError('redis_module must be auto, redis (node-redis) or ioredis.', {
      option: 'redis_module',
      value: module,
    });
  }
  return module;
}

/** A URL both client libraries read: `redis://` or `rediss://`, with a host and a valid port. */
function checkRedisUrl(url: string, option: 'url' | 'urls'): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed && (parsed.protocol === 'redis:' || parsed.protocol === 'rediss:') && parsed.hostname !== '')
    return;
  throw new ConfigError('The Redis URL cannot be read', {
    option,
    value: url,
    expected: 'redis://[:password@]host[:port][/db] or rediss://...',
  });
}

/** What sets `ext:redis` and `ext:rediscluster` apart: the option that names the server, and how to open it. */
interface RedisTopology {
  readonly type: 'ext:redis' | 'ext:rediscluster';
  /** The option holding the server's URL(s), or a connected client. */
  readonly option: 'url' | 'urls';
  /** What that option takes, for the error when it is missing. */
  readonly expected: string;
  /** The URLs the option's text names (none when it is blank). */
  urlsOf(text: string): string[];
  /** Checks the other options before anything is used, and opens a client on the option's text. */
  opener(options: RedisBackendOptions): (text: string, context: BackendContext) => Promise<RedisClient>;
}

/** A Redis back-end factory: on the client given in code, or on one it opens (and closes) itself. */
function redisFactory(topology: RedisTopology): BackendFactory {
  const { type, option } = topology;
  return async (options, context) => {
    const typed = options as RedisBackendOptions;
    const open = topology.opener(typed);
    const server = typed[option];
    if (isGivenClient(server)) return new RedisBackend(type, adapt(server), false, typed, context);
    const urls = typeof server === 'string' ? topology.urlsOf(server) : [];
    if (typeof server !== 'string' || urls.length === 0) {
      throw new ConfigError(`${type} needs ${option}: ${topology.expected}`, { option, value: server });
    }
    for (const url of urls) checkRedisUrl(url, option);
    return new RedisBackend(type, await open(server, context), true, typed, context);
  };
}

/** The factory registered as `ext:redis`. */
export const redisBackend: BackendFactory = redisFactory({
  type: 'ext:redis',
  option: 'url',
  expected: 'redis://host:port/db, or a node-redis or ioredis client',
  urlsOf: (text) => (text === '' ? [] : [text]),
  opener: (options) => {
    const module = redisModuleOf(options);
    return (url, context) => openRedisClient('ext:redis', module, url, context.commandTimeoutMs);
  },
});

/** The factory registered as `ext:rediscluster` (through ioredis). */
export const redisClusterBackend: BackendFactory = redisFactory({
  type: 'ext:rediscluster',
  option: 'urls',
  expected: 'comma-separated redis://host:port URLs, or an ioredis Cluster',
  urlsOf: (text) => (text.trim() === '' ? [] : text.split(',').map((url) => url.trim())),
  opener: () => (urls, context) => openIoredisCluster('ext:rediscluster', urls, context.commandTimeoutMs),
});
