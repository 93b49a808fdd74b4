/**
 * ext:redis's two client libraries: `redis_module`; a node-redis or ioredis client passed in code (used, never
 * closed), including the pub/sub wake-up of lock waiters on node-redis; and a server that hangs (SIGSTOP) failing
 * calls within the command timeout.
 */
import { randomUUID } from 'node:crypto';
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClient } from 'redis';
import { Cluster, Redis } from 'ioredis';
// The previous major, still in the peer range (installed under an alias).
import { Redis as Redis5 } from 'ioredis5';
import { CacheManager, ConfigError } from '../../src/index.js';
import { getEntries } from '../../src/backends/contract.js';
import { redisBackend, redisClusterBackend, redisLocks, storageKey } from '../../src/backends/redis/index.js';
import { clusterSlot } from '../../src/backends/redis/cluster-slot.js';
import { describeWhenAvailable, unreachable } from '../helpers/services.js';
import { redisCommands, startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { REDIS_CLUSTER_URLS } from '../helpers/server-stores.js';
import { expectTimeoutWhileStopped } from '../helpers/hung-server.js';
import { expectWokenOnRelease, WatchedTimers } from '../helpers/locks.js';

const REDIS_URL = process.env.BEAKER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/3';
const redisAddress = new URL(REDIS_URL);
const context = { clock: Date.now, report: () => undefined };
/** The command timeout of the hung-server tests: long enough to tell from a prompt failure, short to wait for. */
const HUNG_COMMAND_TIMEOUT_MS = 1000;

it('refuses a redis_module it does not know, naming the accepted ones', async () => {
  const attempt = redisBackend({ url: REDIS_URL, redis_module: 'redis-py' }, context);
  await expect(attempt).rejects.toThrow(ConfigError);
  await expect(attempt).rejects.toThrow(/redis_module must be auto, redis \(node-redis\) or ioredis/);
});

describeWhenAvailable(
  'ext:redis on a client passed in code',
  await unreachable(redisAddress.hostname, Number(redisAddress.port || 6379), 'Redis'),
  () => {
    const nodeRedis = createClient({ url: REDIS_URL });
    const ioredis = new Redis(REDIS_URL);
    const ioredis5 = new Redis5(REDIS_URL);
    beforeAll(async () => {
      await nodeRedis.connect();
    });
    afterAll(async () => {
      await nodeRedis.quit();
      await ioredis.quit();
      await ioredis5.quit();
    });

    it.each([
      ['node-redis', () => nodeRedis],
      ['ioredis', () => ioredis],
      ['ioredis 5', () => ioredis5 as unknown as Redis],
    ])('works on a %s client and leaves it open', async (_library, client) => {
      const backend = await redisBackend({ url: client() }, context);
      await backend.set('given', 'k', 'from a given client', { ttlMs: 10_000 });
      expect(await backend.get('given', 'k')).toBe('from a given client');
      expect(await backend.keys('given')).toEqual(['k']);
      await backend.clear('given');
      expect(await backend.keys('given')).toEqual([]);
      await backend.close();
      expect(await client().get('still-open')).toBeNull();
    });

    it('wakes a lock waiter through pub/sub on node-redis', async () => {
      const timers = new WatchedTimers();
      const [owner, waiter] = [
        redisLocks(nodeRedis, 30_000, context),
        redisLocks(nodeRedis, 30_000, { ...context, timers }),
      ];
      await expectWokenOnRelease(owner, waiter, `wake-node-redis-${String(Date.now())}`, timers.nextLongWait);
      await Promise.all([owner.close(), waiter.close()]);
    });

    it.each([
      ['ioredis', () => ioredis],
      ['ioredis 5', () => ioredis5 as unknown as Redis],
    ])('wakes a lock waiter through pub/sub on %s', async (library, client) => {
      const timers = new WatchedTimers();
      const [owner, waiter] = [
        redisLocks(client(), 30_000, context),
        redisLocks(client(), 30_000, { ...context, timers }),
      ];
      const name = `wake-${library.replace(' ', '')}-${String(Date.now())}`;
      await expectWokenOnRelease(owner, waiter, name, timers.nextLongWait);
      await Promise.all([owner.close(), waiter.close()]);
    });
  },
);

/** `count` keys of a fresh namespace, every other one written (through `backend`, which is then closed). */
async function halfWritten(
  backend: Awaited<ReturnType<typeof redisBackend>>,
  label: string,
  count = 250,
): Promise<{ namespace: string; keys: string[] }> {
  const namespace = `getmany-${label}-${String(process.pid)}-${String(Date.now())}`;
  const keys = Array.from({ length: count }, (_, index) => `key-${String(index)}`);
  await Promise.all(
    keys
      .filter((_, index) => index % 2 === 0)
      .map((key) => backend.set(namespace, key, `value of ${key}`, { ttlMs: 60_000 })),
  );
  await backend.close();
  return { namespace, keys };
}

describeWhenAvailable(
  'ext:redis getMany: one MGET',
  await unreachable(redisAddress.hostname, Number(redisAddress.port || 6379), 'Redis'),
  () => {
    // Counted on a proxy of the test's own: the server's statistics are shared with every other client.
    let proxy: CountingProxy;
    beforeAll(async () => {
      proxy = await startCountingProxy(
        redisAddress.hostname,
        Number(redisAddress.port || 6379),
        redisCommands,
      );
    });
    afterAll(() => proxy.close());

    it.each(['redis', 'ioredis'])(
      'reads 250 keys with one MGET, where a get per key sends 250 GETs (redis_module = %s)',
      async (module) => {
        const { namespace, keys } = await halfWritten(
          await redisBackend({ url: REDIS_URL, redis_module: module }, context),
          module,
        );
        const proxied = new URL(REDIS_URL);
        proxied.port = String(proxy.port);
        const backend = await redisBackend({ url: proxied.href, redis_module: module }, context);
        proxy.reset();
        const batch = await getEntries(backend, namespace, keys);
        const sent = { MGET: proxy.count('MGET'), GET: proxy.count('GET') };
        proxy.reset();
        const perKey = await Promise.all(keys.map((key) => backend.get(namespace, key)));
        expect(batch).toEqual(perKey);
        expect(batch.filter((value) => value !== undefined)).toHaveLength(125);
        expect(sent).toEqual({ MGET: 1, GET: 0 });
        expect({ MGET: proxy.count('MGET'), GET: proxy.count('GET') }).toEqual({ MGET: 0, GET: 250 });
        await backend.close();
      },
    );

    it('reads a cache getMany of 100 keys, half of them tagged, in two MGETs: the entries, then their tags', async () => {
      const proxied = new URL(REDIS_URL);
      proxied.port = String(proxy.port);
      const manager = new CacheManager({ type: 'ext:redis', url: proxied.href, onEvent: () => undefined });
      const cache = manager.getCache<number>(`getmany-${randomUUID()}`);
      const keys = Array.from({ length: 100 }, (_, index) => `k${index}`);
      for (const [index, key] of keys.entries()) {
        await cache.put(key, index, index % 2 === 0 ? { tags: ['even', `n${index % 3}`] } : {});
      }
      proxy.reset();
      expect(await cache.getMany(keys)).toEqual(keys.map((_, index) => index));
      expect({ MGET: proxy.count('MGET'), GET: proxy.count('GET') }).toEqual({ MGET: 2, GET: 0 });
      await manager.deleteByTag('even');
      proxy.reset();
      expect(await cache.getMany(keys)).toEqual(
        keys.map((_, index) => (index % 2 === 0 ? undefined : index)),
      );
      expect({ MGET: proxy.count('MGET'), GET: proxy.count('GET') }).toEqual({ MGET: 2, GET: 0 });
      await manager.close();
    });
  },
);

const clusterNode = new URL(REDIS_CLUSTER_URLS.split(',')[0] ?? '');

describeWhenAvailable(
  'ext:rediscluster getMany: one MGET per hash slot',
  await unreachable(clusterNode.hostname, Number(clusterNode.port || 6379), 'the Redis Cluster'),
  () => {
    const cluster = new Cluster([{ host: clusterNode.hostname, port: Number(clusterNode.port || 6379) }], {
      enableAutoPipelining: true,
    });
    afterAll(async () => {
      await cluster.quit();
    });

    it('computes the slot of a key as the server does', async () => {
      const keys = [
        'plain',
        '',
        '{tag}a',
        'a{tag}b',
        'x{}y',
        '{}{tag}',
        '{a}{b}',
        '}{',
        '{unclosed',
        '日本語のキー',
        'к'.repeat(300),
        storageKey('ns', 'key'),
        storageKey('ns', '#hashed'),
      ];
      for (const key of keys) expect(clusterSlot(key)).toBe(await cluster.cluster('KEYSLOT', key));
    });

    it('sends one MGET for keys of one slot (a hash tag), and one per slot otherwise, never CROSSSLOT', async () => {
      const backend = await redisClusterBackend({ urls: cluster }, context);
      const tagged = Array.from({ length: 250 }, (_, index) => `{user:42}:field-${String(index)}`);
      const namespace = `getmany-cluster-${String(process.pid)}-${String(Date.now())}`;
      await Promise.all(
        tagged.map((key) => backend.set(namespace, key, `value of ${key}`, { ttlMs: 60_000 })),
      );
      const { keys: spread, namespace: spreadNamespace } = await halfWritten(
        await redisClusterBackend({ urls: REDIS_CLUSTER_URLS }, context),
        'cluster-spread',
      );
      const mget = vi.spyOn(cluster, 'mget');
      const get = vi.spyOn(cluster, 'get');
      try {
        expect(await getEntries(backend, namespace, tagged)).toEqual(tagged.map((key) => `value of ${key}`));
        expect([mget.mock.calls.length, get.mock.calls.length]).toEqual([1, 0]);
        mget.mockClear();
        const values = await getEntries(backend, spreadNamespace, spread);
        expect(values).toEqual(spread.map((key, index) => (index % 2 === 0 ? `value of ${key}` : undefined)));
        const slots = new Set(spread.map((key) => clusterSlot(storageKey(spreadNamespace, key))));
        expect([mget.mock.calls.length, get.mock.calls.length]).toEqual([slots.size, 0]);
      } finally {
        mget.mockRestore();
        get.mockRestore();
        await backend.close();
      }
    });
  },
);

const HUNG_PORT = 6392;

describeWhenAvailable(
  'ext:redis on a server that stops answering',
  spawnSync('redis-server', ['--version']).status === 0 ? undefined : 'redis-server is not installed',
  () => {
    // Started by the hook, not when the file is collected: a run that filters these tests out starts nothing.
    let server: ChildProcessByStdio<null, Readable, null>;
    beforeAll(async () => {
      server = spawn('redis-server', ['--port', String(HUNG_PORT), '--bind', '127.0.0.1', '--save', ''], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      // One listener for the whole output: the line can arrive split, or with other lines in one chunk.
      await new Promise<void>((resolve, reject) => {
        let output = '';
        server.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('Ready to accept connections')) resolve();
        });
        server.once('exit', (code) => {
          reject(new Error(`redis-server on port ${String(HUNG_PORT)} exited (${String(code)}): ${output}`));
        });
      });
    });
    afterAll(() => {
      server.kill('SIGCONT');
      server.kill('SIGKILL');
    });

    describe.each(['redis', 'ioredis'])('redis_module = %s', (module) => {
      // The 5 s default is checked on memcached; here the timeout the context sets, which is quicker to wait for.
      it('fails a call with a BackendError within the command timeout, and resumes when it answers again', async () => {
        const backend = await redisBackend(
          { url: `redis://127.0.0.1:${String(HUNG_PORT)}/0`, redis_module: module },
          { ...context, commandTimeoutMs: HUNG_COMMAND_TIMEOUT_MS },
        );
        await expectTimeoutWhileStopped(backend, server, HUNG_COMMAND_TIMEOUT_MS);
        await backend.close();
      }, 20_000);
    });
  },
);
