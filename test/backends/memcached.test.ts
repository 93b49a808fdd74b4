/** ext:memcached against a pool of three real servers (scripts/services.sh starts them). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import memjs from 'memjs';
import { getEntries } from '../../src/backends/contract.js';
import { memcachedBackend, rendezvous } from '../../src/backends/memcached/index.js';
import { sha256Hex } from '../../src/backends/kit/digest.js';
import { describeWhenAvailable, waitForPort } from '../helpers/services.js';
import { expectTimeoutWhileStopped } from '../helpers/hung-server.js';
import { ManualTimers } from '../helpers/manual-timers.js';
import { memcachedTextCommands, startCountingProxy } from '../helpers/counting-proxy.js';
import { MEMCACHED_SERVERS, describeServerConformance, serverStores } from '../helpers/server-stores.js';

await describeServerConformance((label) => label.startsWith('ext:memcached'));

const unavailable = (await serverStores()).find(({ label }) => label === 'ext:memcached')?.unavailable;
describeWhenAvailable('ext:memcached key index', unavailable, () => {
  it('lists a rewritten key once, so rewrites do not grow the index toward the item size limit', async () => {
    const backend = await memcachedBackend(
      { url: MEMCACHED_SERVERS },
      { clock: Date.now, report: () => undefined },
    );
    const namespace = `index-${String(Date.now())}`;
    for (let round = 0; round < 200; round += 1)
      await backend.set(namespace, 'same key', `value ${String(round)}`);
    await backend.set(namespace, 'other key', 'v');
    expect((await backend.keys(namespace)).sort()).toEqual(['other key', 'same key']);
    const raw = memjs.Client.create(MEMCACHED_SERVERS.replaceAll(';', ','), {
      logger: { log: () => undefined },
    });
    // Read the index the way the back-end names it: on the server rendezvous hashing picks.
    const servers = MEMCACHED_SERVERS.split(';');
    (raw as unknown as { getServer: (key: string) => number }).getServer = (key) => rendezvous(servers, key);
    const index = `bk:idx:${sha256Hex(namespace).slice(0, 32)}:1`;
    expect((await raw.get(index)).value?.toString()).toBe('"same key"\n"other key"\n');
    raw.quit();
    await backend.close();
  });
});

describeWhenAvailable('ext:memcached getMany', unavailable, () => {
  it('reads 250 keys with one multi-key get per server (memcache_module = memcached), not a get per key', async () => {
    // A proxy of the test's own in front of each server, counting the get requests that reach it.
    const proxies = await Promise.all(
      MEMCACHED_SERVERS.split(';').map((server) => {
        const [host = '', port = ''] = server.split(':');
        return startCountingProxy(host, Number(port), memcachedTextCommands);
      }),
    );
    const gets = (): number => proxies.reduce((sum, proxy) => sum + proxy.count('GET'), 0);
    // Frozen timers: the namespace's generation, read once, stays known, so every get counted is an entry's.
    const backend = await memcachedBackend(
      {
        url: proxies.map((proxy) => `127.0.0.1:${String(proxy.port)}`).join(';'),
        memcache_module: 'memcached',
      },
      { clock: Date.now, report: () => undefined, timers: new ManualTimers() },
    );
    const namespace = `getmany-${String(process.pid)}-${String(Date.now())}`;
    const keys = Array.from({ length: 250 }, (_, index) => `key ${String(index)}`);
    for (const key of keys.filter((_, index) => index % 2 === 0))
      await backend.set(namespace, key, `value of ${key}`, { ttlMs: 60_000 });
    for (const proxy of proxies) proxy.reset();
    const batch = await getEntries(backend, namespace, keys);
    const batchGets = gets();
    for (const proxy of proxies) proxy.reset();
    const perKey = await Promise.all(keys.map((key) => backend.get(namespace, key)));
    expect(batch).toEqual(perKey);
    expect(batch).toEqual(keys.map((key, index) => (index % 2 === 0 ? `value of ${key}` : undefined)));
    expect(batchGets).toBeGreaterThan(0);
    expect(batchGets).toBeLessThanOrEqual(proxies.length);
    expect(gets()).toBe(250);
    await backend.close();
    await Promise.all(proxies.map((proxy) => proxy.close()));
  });
});

for (const memcacheModule of ['memjs', 'memcached'] as const) {
  it(`fails a call at once when the server closes the connection before answering (${memcacheModule})`, async () => {
    // A server that reads the request and closes, as a memcached killed or restarted mid-request does.
    const server = createServer((socket) => {
      socket.once('data', () => {
        socket.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const backend = await memcachedBackend(
      { url: `127.0.0.1:${String(port)}`, memcache_module: memcacheModule },
      { clock: Date.now, report: () => undefined },
    );
    const started = Date.now();
    await expect(backend.get('closed', 'k')).rejects.toThrow(/connection closed before the server answered/);
    // Not the 5 s request timeout: both libraries left the call pending (memjs even cancelled its timer).
    expect(Date.now() - started).toBeLessThan(1000);
    await backend.close();
    server.close();
  });
}

const HUNG_PORT = 11292;

describeWhenAvailable(
  'ext:memcached on a server that stops answering',
  spawnSync('memcached', ['-h'], { stdio: 'ignore' }).status === 0 ? undefined : 'memcached is not installed',
  () => {
    // Started by the hook, not when the file is collected: a run that filters these tests out starts nothing.
    let server: ChildProcess;
    beforeAll(async () => {
      const asRoot = process.getuid?.() === 0 ? ['-u', 'root'] : [];
      server = spawn('memcached', ['-l', '127.0.0.1', '-p', String(HUNG_PORT), '-U', '0', ...asRoot], {
        stdio: 'ignore',
      });
      await waitForPort(HUNG_PORT, 'memcached');
    });
    afterAll(() => {
      server.kill('SIGCONT');
      server.kill('SIGKILL');
    });

    // memjs keeps the 5 s default; memcached is given a shorter timeout through the context, quicker to wait for.
    it.each([
      ['memjs', undefined],
      ['memcached', 1000],
    ] as const)(
      'fails a call within its timeout, and resumes when it answers again (%s, %s ms)',
      async (memcacheModule, commandTimeoutMs) => {
        const backend = await memcachedBackend(
          { url: `127.0.0.1:${String(HUNG_PORT)}`, memcache_module: memcacheModule },
          {
            clock: Date.now,
            report: () => undefined,
            ...(commandTimeoutMs === undefined ? {} : { commandTimeoutMs }),
          },
        );
        await expectTimeoutWhileStopped(backend, server, commandTimeoutMs);
        await backend.close();
      },
      20_000,
    );
  },
);

describeWhenAvailable('ext:memcached item size limit', unavailable, () => {
  for (const memcacheModule of ['memjs', 'memcached'] as const) {
    it(`refuses a value over the limit with a ValueTooLargeError, not as an outage (${memcacheModule})`, async () => {
      const backend = await memcachedBackend(
        { url: MEMCACHED_SERVERS, memcache_module: memcacheModule },
        { clock: Date.now, report: () => undefined },
      );
      const namespace = `too-large-${String(Date.now())}`;
      await expect(backend.set(namespace, 'k', 'x'.repeat(2_000_000))).rejects.toMatchObject({
        name: 'ValueTooLargeError',
        code: 'E_VALUE_TOO_LARGE',
        backend: 'ext:memcached',
        bytes: 2_000_004,
      });
      expect(await backend.get(namespace, 'k')).toBeUndefined();
      // The store is fine: a value within the limit is stored.
      await backend.set(namespace, 'k', 'small');
      expect(await backend.get(namespace, 'k')).toBe('small');
      await backend.close();
    });
  }
});
