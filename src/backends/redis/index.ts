/**
 * `ext:redis` and `ext:rediscluster`, through ioredis (an optional peer dependency, loaded on first use).
 *
 * - Entries are `beaker:<namespace digest>:<key>` (keys over 900 bytes, or starting with `#`, are stored under
 *   their SHA-256 and keep the original key in the value), written with a native TTL (`PX`).
 * - `clear()` SCANs the namespace's prefix (on every master of a cluster) and UNLINKs what it finds: no FLUSHALL, no
 *   KEYS, and other namespaces or applications are never touched.
 * - Creation locks work across hosts: `SET NX PX` with an owner token, renewed while held, released only by their
 *   owner (compare-and-delete), and waiters woken through pub/sub, with a short capped poll as the fallback.
 * - Every command has a timeout, so a server that is down fails calls instead of hanging them.
 * @module
 */
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { BackendError, MissingDependencyError } from '../../errors.js';
import { namespaceDigest, sha256Hex } from '../digest.js';
import { serverCapabilities } from '../server-capabilities.js';
import { storeCommand } from '../store-command.js';
import { LeaseLockProvider, leaseMsOf, type LeaseStore } from '../../locks/lease.js';
import type { Backend, BackendContext, BackendFactory, SetOptions } from '../contract.js';

/** Options of the Redis back-ends. */
export interface RedisBackendOptions {
  /** `redis://` or `rediss://` URL (ext:redis), or a connected ioredis client, which is then never closed by us. */
  url?: string | Redis | Cluster;
  /** Comma-separated `redis://host:port` URLs of cluster nodes (ext:rediscluster), or an ioredis Cluster. */
  urls?: string | Cluster;
  /** Default TTL in seconds for entries written without one (Beaker's redis `timeout`). */
  timeout?: number | string | null;
  /** Lease of a creation lock whose holder stopped, in seconds. */
  lock_lease?: number | null;
}

type Client = Redis | Cluster;

const CAPABILITIES = serverCapabilities(true);
const PREFIX = 'beaker:';
const MAX_RAW_KEY_BYTES = 900;
const COMMAND_TIMEOUT_MS = 5000;
const SCAN_COUNT = 500;
const RENEW_SCRIPT =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
const RELEASE_SCRIPT =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

function namespacePrefix(namespace: string): string {
  return `${PREFIX}${namespaceDigest(namespace).slice(0, 32)}:`;
}

function isHashedKey(key: string): boolean {
  return key.startsWith('#') || Buffer.byteLength(key) > MAX_RAW_KEY_BYTES;
}

function storageKey(namespace: string, key: string): string {
  return `${namespacePrefix(namespace)}${isHashedKey(key) ? `#${sha256Hex(key)}` : key}`;
}

async function loadIoredis(): Promise<{ Redis: typeof Redis; Cluster: typeof Cluster }> {
  try {
    const { Redis, Cluster } = await import('ioredis');
    return { Redis, Cluster };
  } catch (error) {
    throw new MissingDependencyError('ioredis', 'The ext:redis back-end', { cause: error });
  }
}

export class RedisBackend implements Backend {
  readonly type: string;
  readonly capabilities = CAPABILITIES;
  readonly locks: LeaseLockProvider;
  readonly #client: Client;
  readonly #owned: boolean;
  readonly #defaultTtlMs: number | undefined;

  constructor(
    type: string,
    client: Client,
    owned: boolean,
    options: RedisBackendOptions,
    context: BackendContext,
  ) {
    this.type = type;
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

  async get(namespace: string, key: string): Promise<unknown> {
    const value = await this.#run('GET', () => this.#client.get(storageKey(namespace, key)));
    if (value === null) return undefined;
    return isHashedKey(key) ? value.slice(value.indexOf('\n') + 1) : value;
  }

  async set(namespace: string, key: string, data: unknown, options: SetOptions = {}): Promise<void> {
    if (typeof data !== 'string') throw new TypeError(`the ${this.type} back-end stores text entries`);
    const value = isHashedKey(key) ? `${JSON.stringify(key)}\n${data}` : data;
    const ttlMs = options.ttlMs ?? this.#defaultTtlMs;
    const target = storageKey(namespace, key);
    await this.#run('SET', () =>
      ttlMs === undefined
        ? this.#client.set(target, value)
        : this.#client.set(target, value, 'PX', Math.max(1, Math.ceil(ttlMs))),
    );
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
        const pipeline = node.pipeline();
        for (const name of names.slice(start, start + SCAN_COUNT)) pipeline.unlink(name);
        await this.#run('UNLINK', () => pipeline.exec());
      }
    }
  }

  /** The keys under `prefix`, by SCAN on each master (the one server, or every master of a cluster). */
  async #scan(prefix: string): Promise<{ node: Redis; names: string[] }[]> {
    const nodes: Redis[] = 'nodes' in this.#client ? this.#client.nodes('master') : [this.#client];
    const found: { node: Redis; names: string[] }[] = [];
    for (const node of nodes) {
      const names = new Set<string>();
      let cursor = '0';
      do {
        const [next, batch] = await this.#run('SCAN', () =>
          node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', SCAN_COUNT),
        );
        cursor = next;
        for (const name of batch) names.add(name);
      } while (cursor !== '0');
      found.push({ node, names: [...names] });
    }
    return found;
  }

  async close(): Promise<void> {
    await this.locks.close();
    if (this.#owned) await this.#client.quit().catch(() => undefined);
  }
}

/**
 * Leases on Redis: `SET key token NX PX lease`; renewed and released by compare-and-PEXPIRE / compare-and-DEL
 * scripts, so only the holder can; a release PUBLISHes on the lock's channel, which wakes waiters at once.
 */
export class RedisLeaseStore implements LeaseStore {
  readonly #client: Client;
  #subscriber: Client | undefined;
  readonly #waiters = new Map<string, Set<() => void>>();

  constructor(client: Client) {
    this.#client = client;
  }

  async take(key: string, token: string, leaseMs: number): Promise<boolean> {
    return (await this.#client.set(key, token, 'PX', leaseMs, 'NX')) === 'OK';
  }

  async renew(key: string, token: string, leaseMs: number): Promise<boolean> {
    return ((await this.#client.eval(RENEW_SCRIPT, 1, key, token, String(leaseMs))) as number) === 1;
  }

  async release(key: string, token: string): Promise<boolean> {
    const deleted = ((await this.#client.eval(RELEASE_SCRIPT, 1, key, token)) as number) === 1;
    if (deleted) await this.#client.publish(channelOf(key), 'released').catch(() => undefined);
    return deleted;
  }

  /** Resolves when the lock's channel says it was released, or after `ms` (pub/sub can lose messages). */
  async waitForRelease(key: string, ms: number): Promise<void> {
    const channel = channelOf(key);
    const subscriber = this.#subscriberClient();
    let listeners = this.#waiters.get(channel);
    if (!listeners) {
      listeners = new Set();
      this.#waiters.set(channel, listeners);
      await subscriber.subscribe(channel).catch(() => undefined);
    }
    const waiting = listeners;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiting.add(done);
    });
    if (waiting.size === 0 && this.#waiters.get(channel) === waiting) {
      this.#waiters.delete(channel);
      await subscriber.unsubscribe(channel).catch(() => undefined);
    }
  }

  #subscriberClient(): Client {
    if (!this.#subscriber) {
      const subscriber = this.#client.duplicate();
      subscriber.on('message', (channel: string) => {
        for (const wake of [...(this.#waiters.get(channel) ?? [])]) wake();
      });
      subscriber.on('error', () => undefined);
      this.#subscriber = subscriber;
    }
    return this.#subscriber;
  }

  async close(): Promise<void> {
    await this.#subscriber?.quit().catch(() => undefined);
    this.#subscriber = undefined;
  }
}

function channelOf(lockKey: string): string {
  return lockKey.replace(`${PREFIX}lock:`, `${PREFIX}lockch:`);
}

/** The Redis creation locks of a client. */
export function redisLocks(
  client: Client,
  leaseMs: number,
  context: BackendContext,
  backend = 'ext:redis',
): LeaseLockProvider {
  return new LeaseLockProvider(new RedisLeaseStore(client), {
    prefix: `${PREFIX}lock:`,
    leaseMs,
    backend,
    context,
  });
}

const CLIENT_OPTIONS: RedisOptions = {
  commandTimeout: COMMAND_TIMEOUT_MS,
  maxRetriesPerRequest: 1,
  // Fail fast while the server is down instead of queueing calls indefinitely.
  enableOfflineQueue: false,
  lazyConnect: true,
  // Commands issued in the same tick go out as one pipeline: concurrent requests share round trips.
  enableAutoPipelining: true,
};

function isClient(value: unknown): value is Client {
  return (
    typeof value === 'object' && value !== null && typeof (value as { get?: unknown }).get === 'function'
  );
}

/** The factory registered as `ext:redis`. */
export const redisBackend: BackendFactory = async (options, context) => {
  const typed = options as RedisBackendOptions;
  if (isClient(typed.url)) return new RedisBackend('ext:redis', typed.url, false, typed, context);
  if (typeof typed.url !== 'string' || typed.url === '') {
    throw new BackendError('ext:redis', 'url is required: redis://host:port/db, or an ioredis client');
  }
  const { Redis } = await loadIoredis();
  const client = new Redis(typed.url, CLIENT_OPTIONS);
  client.on('error', () => undefined);
  await client.connect().catch((error: unknown) => {
    throw new BackendError('ext:redis', `cannot connect to ${typed.url as string}`, { cause: error });
  });
  return new RedisBackend('ext:redis', client, true, typed, context);
};

/** The factory registered as `ext:rediscluster`. */
export const redisClusterBackend: BackendFactory = async (options, context) => {
  const typed = options as RedisBackendOptions;
  if (isClient(typed.urls)) return new RedisBackend('ext:rediscluster', typed.urls, false, typed, context);
  if (typeof typed.urls !== 'string' || typed.urls.trim() === '') {
    throw new BackendError(
      'ext:rediscluster',
      'urls is required: comma-separated redis://host:port URLs, or an ioredis Cluster',
    );
  }
  const nodes = typed.urls.split(',').map((url) => {
    const parsed = new URL(url.trim());
    return { host: parsed.hostname, port: Number(parsed.port || 6379) };
  });
  const { Cluster } = await loadIoredis();
  const cluster = new Cluster(nodes, {
    redisOptions: CLIENT_OPTIONS,
    enableOfflineQueue: false,
    lazyConnect: true,
    enableAutoPipelining: true,
  });
  cluster.on('error', () => undefined);
  await cluster.connect().catch((error: unknown) => {
    throw new BackendError('ext:rediscluster', `cannot connect to ${typed.urls as string}`, { cause: error });
  });
  return new RedisBackend('ext:rediscluster', cluster, true, typed, context);
};
