/**
 * `ext:memcached`, through memjs (an optional peer dependency, loaded on first use).
 *
 * - `url`: `host:port` servers separated by `;` (Beaker's form) or `,`. Keys are placed on servers by rendezvous
 *   hashing, so adding or removing a server moves only the keys of that server.
 * - Entries are `bk:<namespace digest>:<generation>:<key>`, the key replaced by `#<sha256(key)>` when it is not a
 *   valid memcached key (spaces, non-ASCII, long); the value keeps the original key. Native TTL in whole seconds.
 * - `clear()` bumps the namespace's generation counter: the old entries become unreachable at once and age out by
 *   their TTL or the server's LRU. Never `flush_all`. Other processes see a clear within {@link GENERATION_CACHE_MS}.
 * - `getMany()` is one multi-key get per server with the `memcached` library; memjs 1.x has no multi-get, so there it
 *   is one get per key, all at once.
 * - `keys()` reads an index of the namespace's keys (appended on every write) and keeps those still present.
 * - Creation locks: `add` with a lease (fails when another holder has the key), renewed while held, released by
 *   their holder only (checked before the delete); memcached has no notifications, so waiters poll with a short cap.
 * @module
 */
import { createHash } from 'node:crypto';
import { ConfigError, ValueTooLargeError } from '../../shared/errors.js';
import { fetchByIds } from '../kit/batches.js';
import { namespaceDigest } from '../kit/digest.js';
import { serverCapabilities } from '../kit/server-capabilities.js';
import { storeCommand } from '../../shared/store-command.js';
import { openMemcacheClient, type MemcacheClient } from './clients.js';
import { LeaseLockProvider, leaseMsOf, type LeaseStore } from '../../locks/lease.js';
import { systemTimers, type Timers } from '../../shared/timers.js';
import type { Backend, BackendContext, BackendFactory, SetOptions } from '../contract.js';

/** Options of the memcached back-end. */
export interface MemcachedBackendOptions {
  /** Servers: `host:port;host:port` (or comma-separated). */
  url?: string;
  /** The client library: `auto` (memjs if installed, else memcached), `memjs` or `memcached`. */
  memcache_module?: string | null;
  /** Lease of a creation lock whose holder stopped, in seconds. */
  lock_lease?: number | null;
}

const CAPABILITIES = serverCapabilities(true, 1000);
/** How long a process trusts its copy of a namespace's generation (another process's clear shows after this). */
export const GENERATION_CACHE_MS = 1000;
const COMMAND_TIMEOUT_SECONDS = 5;
/** Keys in one multi-key get (which the library splits by server), and such gets in flight at once. */
const MULTI_GET_LIMITS = { batchSize: 1000, concurrency: 4 };
/** memcached reads TTLs above 30 days as absolute Unix times. */
const MAX_RELATIVE_TTL_SECONDS = 30 * 24 * 3600;
/** How many listed keys a process remembers before it forgets them all (and appends again on the next writes). */
const MAX_REMEMBERED_INDEXED = 100_000;

/** Keys of this many printable ASCII characters at most are used as they are; others by their SHA-256. */
const MAX_RAW_KEY_LENGTH = 160;
const RAW_KEY = /^[\x21-\x7e]+$/;

/**
 * The key's part of an entry name: the key itself when it is a valid memcached key (printable ASCII, short), else
 * `#` and its SHA-256 (a raw key never starts with `#`, so the two cannot meet). Hashing only the awkward keys
 * saves a digest per call on the common ones.
 */
function keyPart(key: string): string {
  return key.length <= MAX_RAW_KEY_LENGTH && !key.startsWith('#') && RAW_KEY.test(key)
    ? key
    : `#${createHash('sha256').update(key).digest('base64url')}`;
}

/** The data of a stored item: what follows the line of its original key. */
function dataOf(text: string): string {
  return text.slice(text.indexOf('\n') + 1);
}

function expiresOf(ttlMs: number | undefined): number {
  if (ttlMs === undefined) return 0;
  // memcached's clock ticks once a second, so a TTL of n seconds can end after n - 1: one more second keeps the
  // entry for at least the time asked (entries carry their own freshness; this only bounds how long they stay).
  const seconds = Math.ceil(ttlMs / 1000) + 1;
  return seconds > MAX_RELATIVE_TTL_SECONDS ? Math.floor(Date.now() / 1000) + seconds : seconds;
}

/** Each server's seed for {@link rendezvous}: 32 bits of the SHA-1 of its address, computed once. */
const serverSeeds = new Map<string, number>();

function seedOf(server: string): number {
  let seed = serverSeeds.get(server);
  if (seed === undefined) {
    seed = createHash('sha1').update(server).digest().readUInt32BE(0);
    serverSeeds.set(server, seed);
  }
  return seed;
}

/** FNV-1a over the UTF-16 code units of `text`: a fast 32-bit hash (not a cryptographic one). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  }
  return hash >>> 0;
}

/** MurmurHash3's finaliser: spreads every input bit over the 32 output bits. */
function mix32(value: number): number {
  let hash = value;
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}

/**
 * Rendezvous hashing: the server with the highest score for the key, the score mixing the key's hash with the
 * server's seed. One hash of the key per call, whatever the pool's size (keys are placed on every call).
 */
export function rendezvous(servers: readonly string[], key: string): number {
  const keyHash = fnv1a(key);
  let best = 0;
  let bestScore = -1;
  servers.forEach((server, index) => {
    const score = mix32(keyHash ^ seedOf(server));
    if (score > bestScore) {
      bestScore = score;
      best = index;
    }
  });
  return best;
}

export class MemcachedBackend implements Backend {
  readonly type = 'ext:memcached';
  readonly capabilities = CAPABILITIES;
  readonly locks: LeaseLockProvider;
  readonly #client: MemcacheClient;
  readonly #generations = new Map<string, { generation: string; at: number }>();
  /** The keys this process already listed in each key index (by index key), so that rewrites do not append. */
  readonly #indexed = new Map<string, Set<string>>();
  #indexedCount = 0;
  readonly #timers: Timers;

  /** `servers`: the pool's addresses, which name the store to the other processes of this host. */
  constructor(client: MemcacheClient, servers: readonly string[], leaseMs: number, context: BackendContext) {
    this.#client = client;
    this.#timers = context.timers ?? systemTimers;
    this.locks = new LeaseLockProvider(new MemcachedLeaseStore(client), {
      prefix: 'bk:lock:',
      leaseMs,
      backend: 'ext:memcached',
      context,
      // memcached cannot notify waiters: the processes of one host tell each other.
      hostNotices: `ext:memcached ${[...servers].sort().join(';')}`,
    });
  }

  #run<R>(what: string, command: () => Promise<R>): Promise<R> {
    return storeCommand(this.type, what, command);
  }

  #namespaceId(namespace: string): string {
    return namespaceDigest(namespace).slice(0, 32);
  }

  /** The namespace's generation when this process read it less than {@link GENERATION_CACHE_MS} ago. */
  #knownGeneration(namespace: string): string | undefined {
    const cached = this.#generations.get(namespace);
    return cached && this.#timers.now() - cached.at < GENERATION_CACHE_MS ? cached.generation : undefined;
  }

  /** The namespace's current generation (cached briefly; created at 1 on first use). */
  async #generation(namespace: string): Promise<string> {
    const known = this.#knownGeneration(namespace);
    if (known !== undefined) return known;
    const key = `bk:gen:${this.#namespaceId(namespace)}`;
    let value = await this.#run('GET', () => this.#client.get(key));
    if (value === null) {
      await this.#run('ADD', () => this.#client.add(key, '1', 0));
      value = await this.#run('GET', () => this.#client.get(key));
    }
    const generation = value ?? '1';
    this.#generations.set(namespace, { generation, at: this.#timers.now() });
    return generation;
  }

  async #keyOf(namespace: string, key: string): Promise<string> {
    // Most calls find the generation known: no extra await for them.
    const generation = this.#knownGeneration(namespace) ?? (await this.#generation(namespace));
    return this.#itemKey(namespace, generation, key);
  }

  #itemKey(namespace: string, generation: string, key: string): string {
    return `bk:${this.#namespaceId(namespace)}:${generation}:${keyPart(key)}`;
  }

  async #indexOf(namespace: string): Promise<string> {
    const generation = this.#knownGeneration(namespace) ?? (await this.#generation(namespace));
    return `bk:idx:${this.#namespaceId(namespace)}:${generation}`;
  }

  /** The stored text: the original key as a JSON line, then the data. */
  async #readText(namespace: string, key: string): Promise<string | null> {
    const target = await this.#keyOf(namespace, key);
    return this.#run('GET', () => this.#client.get(target));
  }

  async get(namespace: string, key: string): Promise<string | undefined> {
    const text = await this.#readText(namespace, key);
    return text === null ? undefined : dataOf(text);
  }

  /**
   * One multi-key get per server and {@link MULTI_GET_LIMITS} batch with the `memcached` library; with memjs, which
   * has no multi-get, one get per key, all at once. The namespace's generation is read once, as for one `get`.
   */
  async getMany(namespace: string, keys: readonly string[]): Promise<(string | undefined)[]> {
    if (keys.length === 0) return [];
    const generation = this.#knownGeneration(namespace) ?? (await this.#generation(namespace));
    const targets = keys.map((key) => this.#itemKey(namespace, generation, key));
    const texts = await fetchByIds(targets, MULTI_GET_LIMITS, (batch) =>
      this.#run('GET', () => this.#client.getMany(batch)),
    );
    return texts.map((text) => (text === undefined ? undefined : dataOf(text)));
  }

  async set(namespace: string, key: string, data: string, options: SetOptions = {}): Promise<void> {
    const target = await this.#keyOf(namespace, key);
    const item = `${JSON.stringify(key)}\n${data}`;
    // The entry and its line in the key index are written at once: one round trip, not two. keys() checks that
    // each listed key is present, so an index line written before its entry is harmless.
    const [stored] = await Promise.all([
      storeCommand(this.type, 'SET', () => this.#client.set(target, item, expiresOf(options.ttlMs))).catch(
        (error: unknown) => {
          throw isTooLarge(error) ? this.#tooLarge(item, error) : error;
        },
      ),
      this.#index(namespace, key),
    ]);
    // The memcached client answers false where the server said the item is too large.
    if (!stored) throw this.#tooLarge(item);
  }

  #tooLarge(item: string, cause?: unknown): ValueTooLargeError {
    return new ValueTooLargeError(
      this.type,
      Buffer.byteLength(item),
      "memcached's item size limit: 1 MB unless the server's -I option raises it",
      cause === undefined ? undefined : { cause },
    );
  }

  /**
   * Appends `key` to the namespace's key index, once per process and generation: rewriting a key does not grow the
   * index (memcached items are at most 1 MB by default).
   */
  async #index(namespace: string, key: string): Promise<void> {
    const index = await this.#indexOf(namespace);
    let listed = this.#indexed.get(index);
    if (listed?.has(key)) return;
    const line = `${JSON.stringify(key)}\n`;
    const append = (): Promise<boolean> => this.#run('APPEND', () => this.#client.append(index, line));
    let done = await append();
    // No index yet: create it; if another process created it meanwhile, append to theirs.
    if (!done) done = (await this.#run('ADD', () => this.#client.add(index, line, 0))) || (await append());
    if (!done) return;
    if (!listed) {
      if (this.#indexedCount >= MAX_REMEMBERED_INDEXED) this.#forgetIndexed();
      listed = new Set();
      this.#indexed.set(index, listed);
    }
    listed.add(key);
    this.#indexedCount += 1;
  }

  #forgetIndexed(): void {
    this.#indexed.clear();
    this.#indexedCount = 0;
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    const target = await this.#keyOf(namespace, key);
    return this.#run('DELETE', () => this.#client.delete(target));
  }

  async keys(namespace: string): Promise<string[]> {
    const index = await this.#indexOf(namespace);
    const value = await this.#run('GET', () => this.#client.get(index));
    if (value === null) return [];
    const listed = new Set(
      value
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as string),
    );
    const present = await Promise.all(
      [...listed].map(async (key) => ((await this.#readText(namespace, key)) === null ? undefined : key)),
    );
    return present.filter((key): key is string => key !== undefined);
  }

  async clear(namespace: string): Promise<void> {
    const key = `bk:gen:${this.#namespaceId(namespace)}`;
    await this.#generation(namespace);
    const value = await this.#run('INCR', () => this.#client.increment(key, 2));
    this.#generations.set(namespace, { generation: String(value), at: this.#timers.now() });
  }

  async close(): Promise<void> {
    await this.locks.close();
    this.#client.close();
  }
}

/**
 * Does a failed SET say the item was too large? memjs passes the server's words on ("Value too large"); the
 * memcached package refuses before sending ("The length of the value is greater than 1048576").
 */
function isTooLarge(error: unknown): boolean {
  return error instanceof Error && /too large|length of the value is greater/i.test(error.message);
}

/** Leases on memcached: `add` with the lease as TTL; renewal and release check the owner token first. */
export class MemcachedLeaseStore implements LeaseStore {
  readonly #client: MemcacheClient;

  constructor(client: MemcacheClient) {
    this.#client = client;
  }

  take(key: string, token: string, leaseMs: number): Promise<boolean> {
    return this.#client.add(key, token, expiresOf(leaseMs));
  }

  async renew(key: string, token: string, leaseMs: number): Promise<boolean> {
    return (await this.#owns(key, token)) && this.#client.touch(key, expiresOf(leaseMs));
  }

  async release(key: string, token: string): Promise<boolean> {
    // memcached has no compare-and-delete: the token is checked, then the key deleted (a narrow window, see
    // docs/backends.md).
    return (await this.#owns(key, token)) && this.#client.delete(key);
  }

  async owner(key: string): Promise<string | undefined> {
    return (await this.#client.get(key)) ?? undefined;
  }

  async #owns(key: string, token: string): Promise<boolean> {
    return (await this.owner(key)) === token;
  }
}

const SERVER_ADDRESS = /^(?:\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i;

/** The `host:port` servers of `url` (`;` or `,` between them); anything else is a ConfigError naming the url. */
function memcachedServers(url: unknown): string[] {
  const servers =
    typeof url === 'string'
      ? url
          .split(/[;,]/)
          .map((server) => server.trim())
          .filter(Boolean)
      : [];
  const valid = (server: string): boolean => {
    const port = SERVER_ADDRESS.exec(server)?.[1];
    return SERVER_ADDRESS.test(server) && (port === undefined || (Number(port) > 0 && Number(port) < 65536));
  };
  if (servers.length === 0 || !servers.every(valid)) {
    throw new ConfigError('ext:memcached needs url: its servers as host:port, separated by ";"', {
      option: 'url',
      value: url,
      expected: '127.0.0.1:11211;127.0.0.1:11212 (no scheme)',
    });
  }
  return servers;
}

/** The factory registered as `ext:memcached`. */
export const memcachedBackend: BackendFactory = async (options, context) => {
  const typed = options as MemcachedBackendOptions;
  const module = typed.memcache_module ?? 'auto';
  if (module !== 'auto' && module !== 'memjs' && module !== 'memcached') {
    throw new ConfigError(
      'memcache_module must be auto, memjs or memcached (the Node.js client libraries).',
      {
        option: 'memcache_module',
        value: module,
      },
    );
  }
  const servers = memcachedServers(typed.url);
  const client = await openMemcacheClient(module, {
    servers,
    timeoutSeconds:
      context.commandTimeoutMs === undefined ? COMMAND_TIMEOUT_SECONDS : context.commandTimeoutMs / 1000,
    pickServer: rendezvous,
  });
  const leaseMs = leaseMsOf(typed);
  return new MemcachedBackend(client, servers, leaseMs, context);
};
