/**
 * The two Redis client libraries behind one small interface, chosen by `redis_module`: node-redis (the `redis`
 * package, Redis's official client; the default, measured about twice as fast here) and ioredis (also used for
 * `ext:rediscluster`). Each is an optional peer dependency, loaded on first use.
 * @module
 */
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { BackendError } from '../../shared/errors.js';
import type { ClientDependency } from '../define.js';
import { loadClient, missingClient, preferInstalled } from '../kit/load-client.js';
import { IOREDIS, NODE_REDIS } from './descriptor.js';
import { clusterSlot } from './cluster-slot.js';
import { StallWatchdog } from './stall-watchdog.js';
import { within } from '../kit/within.js';

/** One Redis server (or one master of a cluster), for SCAN and UNLINK. */
export interface RedisNode {
  /** One SCAN step: the next cursor ('0' at the end) and the names found. */
  scan(cursor: string, match: string, count: number): Promise<[string, string[]]>;
  unlink(names: string[]): Promise<unknown>;
}

/** A connection that receives pub/sub messages. */
export interface RedisSubscriber {
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  quit(): Promise<void>;
}

/** What the Redis back-end and its locks need from a client. */
export interface RedisClient {
  readonly library: 'redis' | 'ioredis';
  get(key: string): Promise<string | null>;
  /**
   * The values of `keys`, in their order (`null` for a missing key): one MGET; on a cluster, one MGET per hash slot,
   * all sent at once (so that the auto-pipelining of beaker-ts's clusters sends one pipeline per master).
   */
  getMany(keys: string[]): Promise<(string | null)[]>;
  /** SET with an optional `PX` and `NX`; false when `NX` found the key. */
  set(key: string, value: string, pxMs?: number, onlyIfAbsent?: boolean): Promise<boolean>;
  del(key: string): Promise<number>;
  exists(key: string): Promise<number>;
  eval(script: string, keys: string[], args: string[]): Promise<unknown>;
  publish(channel: string, message: string): Promise<unknown>;
  /** The server, or every master of a cluster. */
  masters(): RedisNode[];
  /** A new connection for pub/sub; `onMessage` gets the channel of each message. */
  subscriber(onMessage: (channel: string) => void): RedisSubscriber;
  /** Closes the connection (only for a client beaker-ts opened). */
  quit(): Promise<void>;
}

/** Every command's timeout by default: a server that is down fails calls instead of hanging them. */
export const COMMAND_TIMEOUT_MS = 5000;

/** The ioredis options of beaker-ts's own connections, with their command timeout. */
function ioredisOptions(commandTimeoutMs: number): RedisOptions {
  return { ...IOREDIS_OPTIONS, commandTimeout: commandTimeoutMs };
}

function usedBy(dependency: ClientDependency): string {
  return `The ext:redis back-end with redis_module = ${dependency.name}`;
}

// ---- ioredis ----

const IOREDIS_OPTIONS: RedisOptions = {
  commandTimeout: COMMAND_TIMEOUT_MS,
  maxRetriesPerRequest: 1,
  // Fail fast while the server is down instead of queueing calls indefinitely.
  enableOfflineQueue: false,
  lazyConnect: true,
  // Commands issued in the same tick go out as one pipeline: concurrent requests share round trips.
  enableAutoPipelining: true,
};

async function loadIoredis(): Promise<{ Redis: typeof Redis; Cluster: typeof Cluster }> {
  const { Redis, Cluster } = await loadClient(IOREDIS, usedBy(IOREDIS));
  return { Redis, Cluster };
}

/** An ioredis client or cluster as a {@link RedisClient}. */
export function fromIoredis(client: Redis | Cluster): RedisClient {
  const nodeOf = (node: Redis): RedisNode => ({
    scan: (cursor, match, count) => node.scan(cursor, 'MATCH', match, 'COUNT', count),
    // One UNLINK per key, pipelined: a cluster master refuses a multi-key UNLINK across slots (CROSSSLOT).
    unlink: async (names) => {
      const pipeline = node.pipeline();
      for (const name of names) pipeline.unlink(name);
      // A pipeline reports each command's error in its result rather than rejecting.
      const failed = (await pipeline.exec())?.find(([error]) => error !== null);
      if (failed?.[0]) throw failed[0];
    },
  });
  return {
    library: 'ioredis',
    get: (key) => client.get(key),
    getMany: (keys) => ('nodes' in client ? mgetBySlot(client, keys) : client.mget(keys)),
    async set(key, value, pxMs, onlyIfAbsent) {
      if (pxMs === undefined) return (await client.set(key, value)) === 'OK';
      if (onlyIfAbsent) return (await client.set(key, value, 'PX', pxMs, 'NX')) === 'OK';
      return (await client.set(key, value, 'PX', pxMs)) === 'OK';
    },
    del: (key) => client.del(key),
    exists: (key) => client.exists(key),
    eval: (script, keys, args) => client.eval(script, keys.length, ...keys, ...args),
    publish: (channel, message) => client.publish(channel, message),
    masters: () => ('nodes' in client ? client.nodes('master') : [client]).map(nodeOf),
    subscriber(onMessage) {
      // Narrowed first: ioredis 6 gives Redis#duplicate and Cluster#duplicate signatures a union cannot call.
      const connection = 'nodes' in client ? client.duplicate() : client.duplicate();
      connection.on('message', (channel: string) => {
        onMessage(channel);
      });
      connection.on('error', () => undefined);
      return {
        subscribe: (channel) => connection.subscribe(channel),
        unsubscribe: (channel) => connection.unsubscribe(channel),
        quit: async () => {
          await connection.quit().catch(() => undefined);
        },
      };
    },
    quit: async () => {
      await client.quit().catch(() => undefined);
    },
  };
}

/**
 * MGET on a cluster, one per hash slot (keys of two slots in one MGET fail with CROSSSLOT). Every MGET is sent in
 * this same tick, so a cluster with auto-pipelining sends them in one pipeline per master.
 */
async function mgetBySlot(cluster: Cluster, keys: string[]): Promise<(string | null)[]> {
  const bySlot = new Map<number, number[]>();
  keys.forEach((key, index) => {
    const slot = clusterSlot(key);
    const indices = bySlot.get(slot);
    if (indices) indices.push(index);
    else bySlot.set(slot, [index]);
  });
  const values = new Array<string | null>(keys.length).fill(null);
  await Promise.all(
    [...bySlot.values()].map(async (indices) => {
      const replies = await cluster.mget(indices.map((index) => keys[index] as string));
      indices.forEach((index, at) => {
        values[index] = replies[at] ?? null;
      });
    }),
  );
  return values;
}

/** Connects an ioredis client to `url`. */
export async function openIoredis(
  backend: string,
  url: string,
  commandTimeoutMs = COMMAND_TIMEOUT_MS,
): Promise<RedisClient> {
  const { Redis } = await loadIoredis();
  const client = new Redis(url, ioredisOptions(commandTimeoutMs));
  client.on('error', () => undefined);
  await client.connect().catch((error: unknown) => {
    throw new BackendError(backend, `cannot connect to ${url}`, { cause: error });
  });
  return fromIoredis(client);
}

/** Connects an ioredis Cluster to its nodes. */
export async function openIoredisCluster(
  backend: string,
  urls: string,
  commandTimeoutMs = COMMAND_TIMEOUT_MS,
): Promise<RedisClient> {
  const nodes = urls.split(',').map((url) => {
    const parsed = new URL(url.trim());
    return { host: parsed.hostname, port: Number(parsed.port || 6379) };
  });
  const { Cluster } = await loadIoredis();
  const cluster = new Cluster(nodes, {
    redisOptions: ioredisOptions(commandTimeoutMs),
    enableOfflineQueue: false,
    lazyConnect: true,
    enableAutoPipelining: true,
  });
  cluster.on('error', () => undefined);
  await cluster.connect().catch((error: unknown) => {
    throw new BackendError(backend, `cannot connect to ${urls}`, { cause: error });
  });
  return fromIoredis(cluster);
}

// ---- node-redis ----

/** The part of a node-redis client (v4 to v6) that beaker-ts uses. */
export interface NodeRedisLike {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  get(key: string): Promise<string | null>;
  mGet(keys: string[]): Promise<(string | null)[]>;
  set(key: string, value: string, options?: { PX?: number; NX?: boolean }): Promise<string | null>;
  del(key: string): Promise<number>;
  exists(key: string): Promise<number>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  publish(channel: string, message: string): Promise<number>;
  ping(): Promise<unknown>;
  scan(
    cursor: string,
    options: { MATCH: string; COUNT: number },
  ): Promise<{ cursor: string | number; keys: string[] }>;
  unlink(names: string[]): Promise<number>;
  duplicate(): NodeRedisLike;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  quit(): Promise<unknown>;
  /** Drops the connection at once, failing every pending command. */
  destroy(): void;
  on(event: 'error', listener: (error: unknown) => void): unknown;
}

const isOk = (reply: unknown): boolean => reply === 'OK';

/** Is `value` a node-redis client (rather than an ioredis one)? */
export function isNodeRedis(value: unknown): value is NodeRedisLike {
  return typeof value === 'object' && value !== null && 'isOpen' in value && 'sendCommand' in value;
}

/**
 * A node-redis client as a {@link RedisClient}. With a `watchdog` (a client beaker-ts opened), every command is
 * noted for it; a client passed in code keeps its own command timeout (node-redis's default is 5 s).
 */
/** `closeTimeoutMs`: how long QUIT may take before the connection is dropped. */
export function fromNodeRedis(
  client: NodeRedisLike,
  watchdog?: StallWatchdog,
  closeTimeoutMs = COMMAND_TIMEOUT_MS,
): RedisClient {
  const sending = (): void => watchdog?.noteCommand();
  return {
    library: 'redis',
    get(key) {
      sending();
      return client.get(key);
    },
    getMany(keys) {
      sending();
      return client.mGet(keys);
    },
    set(key, value, pxMs, onlyIfAbsent) {
      const options = pxMs === undefined ? undefined : onlyIfAbsent ? { PX: pxMs, NX: true } : { PX: pxMs };
      sending();
      return client.set(key, value, options).then(isOk);
    },
    del(key) {
      sending();
      return client.del(key);
    },
    exists(key) {
      sending();
      return client.exists(key);
    },
    eval(script, keys, args) {
      sending();
      return client.eval(script, { keys, arguments: args });
    },
    publish(channel, message) {
      sending();
      return client.publish(channel, message);
    },
    masters: () => [
      {
        async scan(cursor, match, count) {
          sending();
          const reply = await client.scan(cursor, { MATCH: match, COUNT: count });
          return [String(reply.cursor), reply.keys];
        },
        unlink(names) {
          sending();
          return client.unlink(names);
        },
      },
    ],
    subscriber(onMessage) {
      const connection = client.duplicate();
      connection.on('error', () => undefined);
      // Connected on first use, and once only.
      let connected: Promise<unknown> | undefined;
      const connect = (): Promise<unknown> => (connected ??= connection.connect());
      return {
        subscribe: async (channel) => {
          await connect();
          return connection.subscribe(channel, (_message, from) => {
            onMessage(from);
          });
        },
        unsubscribe: async (channel) => {
          await connect();
          return connection.unsubscribe(channel);
        },
        quit: async () => {
          if (connected) await closeNodeRedis(connection, closeTimeoutMs);
        },
      };
    },
    quit: async () => {
      watchdog?.stop();
      await closeNodeRedis(client, closeTimeoutMs);
    },
  };
}

/** Closes a node-redis connection: QUIT when it answers, else (down, or hung) dropped. */
async function closeNodeRedis(client: NodeRedisLike, timeoutMs: number): Promise<void> {
  if (!client.isOpen) return;
  if (!client.isReady) {
    client.destroy();
    return;
  }
  const answered = await within(
    client.quit().then(
      () => true,
      () => true,
    ),
    timeoutMs,
  );
  if (!answered && client.isOpen) client.destroy();
}

/** Connects a node-redis client to `url`. */
export async function openNodeRedis(
  backend: string,
  url: string,
  commandTimeoutMs = COMMAND_TIMEOUT_MS,
): Promise<RedisClient> {
  const { createClient } = (await loadClient(NODE_REDIS, usedBy(NODE_REDIS))) as {
    createClient: (options: Record<string, unknown>) => NodeRedisLike;
  };
  let everConnected = false;
  const client = createClient({
    url,
    // Fail fast while the server is down instead of queueing calls.
    disableOfflineQueue: true,
    // node-redis 6 times each command with an AbortSignal timer of its own (5 s by default), which halved the
    // throughput measured here: the StallWatchdog below does the same job at no cost per command.
    commandOptions: { timeout: 0 },
    socket: {
      connectTimeout: commandTimeoutMs,
      // The first connection fails at once (a wrong URL is reported); later drops are retried, up to every 1 s.
      reconnectStrategy: (retries: number, cause: Error) =>
        everConnected ? Math.min(50 * 2 ** Math.min(retries, 5), 1000) : cause,
    },
  });
  client.on('error', () => undefined);
  await client.connect().catch((error: unknown) => {
    throw new BackendError(backend, `cannot connect to ${url}`, { cause: error });
  });
  everConnected = true;
  const watchdog = new StallWatchdog({
    timeoutMs: commandTimeoutMs,
    probe: () => client.ping(),
    // A server that stopped answering: every pending call fails now, and the client reconnects (calls fail fast
    // until it is back).
    onStall: () => {
      client.destroy();
      client.connect().catch(() => undefined);
    },
  });
  return fromNodeRedis(client, watchdog, commandTimeoutMs);
}

/**
 * The client for `redis_module`: `auto` takes node-redis (the `redis` package), or ioredis when only it is
 * installed.
 */
export async function openRedisClient(
  backend: string,
  module: string,
  url: string,
  commandTimeoutMs = COMMAND_TIMEOUT_MS,
): Promise<RedisClient> {
  if (module === 'redis') return openNodeRedis(backend, url, commandTimeoutMs);
  if (module === 'ioredis') return openIoredis(backend, url, commandTimeoutMs);
  return preferInstalled(
    () => openNodeRedis(backend, url, commandTimeoutMs),
    () => openIoredis(backend, url, commandTimeoutMs),
    (cause) => missingClient(NODE_REDIS, 'The ext:redis back-end', cause, IOREDIS),
  );
}
