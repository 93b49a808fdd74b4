/**
 * The two memcached client libraries behind one small interface, chosen by `memcache_module`: memjs (binary
 * protocol; servers picked by rendezvous hashing) and memcached (text protocol; its own consistent hashing).
 * Each is an optional peer dependency, loaded on first use.
 * @module
 */
import type { ClientDependency } from '../define.js';
import { loadClient, missingClient, preferInstalled } from '../kit/load-client.js';
import { MEMCACHED_LIBRARY, MEMJS } from './descriptor.js';

/** What the memcached back-end and its locks need from a client. `expires` is memcached's TTL field. */
export interface MemcacheClient {
  readonly module: 'memjs' | 'memcached';
  get(key: string): Promise<string | null>;
  /**
   * The values of `keys` found, by key: one multi-key get per server where the library has one (memcached's
   * `getMulti`); memjs 1.x has none, so there one get per key, all at once.
   */
  getMany(keys: string[]): Promise<Map<string, string>>;
  set(key: string, value: string, expires: number): Promise<boolean>;
  /** Stores only if absent; false when the key exists. */
  add(key: string, value: string, expires: number): Promise<boolean>;
  /** Appends to an existing item; false when there is none. */
  append(key: string, value: string): Promise<boolean>;
  delete(key: string): Promise<boolean>;
  /** Adds 1, starting from `initial` when the counter does not exist; the new value. */
  increment(key: string, initial: number): Promise<number>;
  touch(key: string, expires: number): Promise<boolean>;
  close(): void;
}

/** Settings every client gets. */
export interface ClientSettings {
  servers: string[];
  timeoutSeconds: number;
  /** Picks the server of a key (memjs only; the memcached library hashes by itself). */
  pickServer: (servers: readonly string[], key: string) => number;
}

function usedBy(dependency: ClientDependency): string {
  return `The ext:memcached back-end with memcache_module = ${dependency.name}`;
}

const CLOSED_BEFORE_ANSWER = 'the connection closed before the server answered';

/** The parts of a memjs 1.x `Server` that {@link failPendingOnClose} reaches into. */
interface MemjsServerInternals {
  _socket?: import('node:net').Socket;
  errorCallbacks: Record<string, unknown>;
  sock(sasl: boolean, go: (socket: import('node:net').Socket) => void): void;
  error(error: Error): void;
}

/**
 * memjs leaves a request pending for ever (its timer cancelled) when the server closes the connection before
 * answering, as a memcached killed or restarted mid-request does: fail such requests when their socket closes.
 */
function failPendingOnClose(server: MemjsServerInternals): void {
  const open = server.sock.bind(server);
  server.sock = (sasl, go) => {
    const fresh = server._socket === undefined;
    open(sasl, go);
    // Once per connection: memjs opens one when it has none.
    if (!fresh) return;
    server._socket?.once('close', () => {
      if (Object.keys(server.errorCallbacks).length > 0) {
        server.error(new Error(CLOSED_BEFORE_ANSWER));
      }
    });
  };
}

/** The parts of a memcached 2.x client that {@link failQueriesOnClose} reaches into. */
interface MemcachedLibraryInternals {
  connect(server: string, callback: (error: unknown, stream?: MemcachedStream) => void): void;
  makeCallback(callback: (...args: unknown[]) => void, error: Error): void;
}

/** A connection of the memcached library, with its queries waiting for an answer in order. */
type MemcachedStream = import('node:net').Socket & {
  metaData: { callback?: (...args: unknown[]) => void }[];
};

/**
 * The memcached library drops the queries waiting on a connection that closes (a server killed or restarted
 * mid-request) without calling them back: fail them when it closes.
 */
function failQueriesOnClose(client: MemcachedLibraryInternals): void {
  const connect = client.connect.bind(client);
  const watched = new WeakSet<MemcachedStream>();
  client.connect = (server, callback) => {
    connect(server, (error, stream) => {
      if (stream && !watched.has(stream)) {
        watched.add(stream);
        stream.once('close', () => {
          for (const query of stream.metaData.splice(0)) {
            if (query.callback) client.makeCallback(query.callback, new Error(CLOSED_BEFORE_ANSWER));
          }
        });
      }
      callback(error, stream);
    });
  };
}

async function memjsClient(settings: ClientSettings): Promise<MemcacheClient> {
  const memjs = await loadClient(MEMJS, usedBy(MEMJS));
  const client = memjs.Client.create(settings.servers.join(','), {
    timeout: settings.timeoutSeconds,
    retries: 0,
    logger: { log: () => undefined },
  });
  (client as unknown as { getServer: (key: string) => number }).getServer = (key) =>
    settings.pickServer(settings.servers, key);
  for (const server of client.servers) failPendingOnClose(server);
  return {
    module: 'memjs',
    get: async (key) => (await client.get(key)).value?.toString('utf8') ?? null,
    // memjs 1.x has no multi-get (its binary protocol's quiet gets are not exposed): concurrent gets, which it writes
    // to each server's connection without waiting for the answers.
    getMany: async (keys) => {
      const values = await Promise.all(keys.map(async (key) => (await client.get(key)).value));
      return new Map(
        keys.flatMap((key, index) => {
          const value = values[index];
          return value ? [[key, value.toString('utf8')] as const] : [];
        }),
      );
    },
    set: (key, value, expires) => client.set(key, value, { expires }),
    add: (key, value, expires) => client.add(key, value, { expires }),
    async append(key, value) {
      try {
        return await client.append(key, value);
      } catch (error) {
        // memjs reports a missing item as an error.
        if (error instanceof Error && error.message.includes('Item not stored')) return false;
        throw error;
      }
    },
    delete: (key) => client.delete(key),
    increment: async (key, initial) => (await client.increment(key, 1, { initial })).value ?? initial,
    touch: (key, expires) => client.touch(key, expires),
    close: () => {
      client.quit();
    },
  };
}

/** An item as the memcached library gives it back, as text; `null` for none. */
function textOfItem(value: unknown): string | null {
  if (value === undefined || value === false) return null;
  // Values are stored as strings; the library may give numbers back for numeric ones (counters).
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The memcached library's error for an add of an existing key or an append to a missing one. */
function isNotStored(error: unknown): boolean {
  return (error as { notStored?: boolean } | null)?.notStored === true;
}

async function memcachedClient(settings: ClientSettings): Promise<MemcacheClient> {
  // A CommonJS module: its export is the client class.
  const loaded = (await loadClient(MEMCACHED_LIBRARY, usedBy(MEMCACHED_LIBRARY))) as {
    default: typeof import('memcached');
  };
  const Memcached = loaded.default;
  // factor, minTimeout and maxTimeout are the library's pool-retry options; its type definitions omit them.
  const options: import('memcached').options & { factor: number; minTimeout: number; maxTimeout: number } = {
    timeout: settings.timeoutSeconds * 1000,
    poolSize: 25,
    // When every connection is busy, wait briefly for one (the library's default first wait is 1 s).
    retries: 5,
    factor: 2,
    minTimeout: 10,
    maxTimeout: 200,
    // A server that fails is retried after 1 s rather than dropped from the pool.
    retry: 1000,
    remove: false,
    idle: 30_000,
  };
  const client = new Memcached(settings.servers, options);
  failQueriesOnClose(client as unknown as MemcachedLibraryInternals);
  const timeoutMs = settings.timeoutSeconds * 1000;
  // The library's own `timeout` covers connecting only: a server that stops answering would hold a call for ever.
  const call = <R>(run: (done: (error: unknown, result: R) => void) => void): Promise<R> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no answer within ${String(timeoutMs)} ms`));
      }, timeoutMs);
      run((error, result) => {
        clearTimeout(timer);
        if (error) reject(error instanceof Error ? error : new Error(JSON.stringify(error)));
        else resolve(result);
      });
    });
  const increment = async (key: string, initial: number): Promise<number> => {
    const value = await call<number | boolean>((done) => {
      client.incr(key, 1, done);
    });
    if (typeof value === 'number') return value;
    // No counter yet: create it; if another process did meanwhile, increment theirs.
    if (
      await call<boolean>((done) => {
        client.add(key, String(initial), 0, done);
      })
    )
      return initial;
    return increment(key, initial);
  };
  return {
    module: 'memcached',
    async get(key) {
      return textOfItem(
        await call<unknown>((done) => {
          client.get(key, done);
        }),
      );
    },
    async getMany(keys) {
      // The library calls back with nothing at all for no keys.
      if (keys.length === 0) return new Map();
      const found = await call<Record<string, unknown> | undefined>((done) => {
        client.getMulti(keys, (errors: unknown, items: Record<string, unknown> | undefined) => {
          // One error per server that failed.
          done(Array.isArray(errors) ? errors[0] : errors, items);
        });
      });
      const values = new Map<string, string>();
      for (const key of keys) {
        const text = Object.hasOwn(found ?? {}, key) ? textOfItem(found?.[key]) : null;
        if (text !== null) values.set(key, text);
      }
      return values;
    },
    set: (key, value, expires) =>
      call((done) => {
        client.set(key, value, expires, done);
      }),
    async add(key, value, expires) {
      try {
        return await call<boolean>((done) => {
          client.add(key, value, expires, done);
        });
      } catch (error) {
        // The memcached library reports an existing key as an error.
        if (isNotStored(error)) return false;
        throw error;
      }
    },
    async append(key, value) {
      try {
        return await call<boolean>((done) => {
          client.append(key, value, done);
        });
      } catch (error) {
        if (isNotStored(error)) return false;
        throw error;
      }
    },
    delete: (key) =>
      call((done) => {
        client.del(key, done);
      }),
    increment,
    touch: async (key, expires) => {
      await call<undefined>((done) => {
        client.touch(key, expires, (error: unknown) => {
          done(error, undefined);
        });
      });
      return true;
    },
    close: () => {
      client.end();
    },
  };
}

/** The client for `memcache_module`: `auto` takes memjs, or the memcached library when only it is installed. */
export async function openMemcacheClient(module: string, settings: ClientSettings): Promise<MemcacheClient> {
  if (module === 'memjs') return memjsClient(settings);
  if (module === 'memcached') return memcachedClient(settings);
  return preferInstalled(
    () => memjsClient(settings),
    () => memcachedClient(settings),
    (cause) => missingClient(MEMJS, 'The ext:memcached back-end', cause, MEMCACHED_LIBRARY),
  );
}
