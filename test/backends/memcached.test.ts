/** ext:memcached against a pool of three real servers (scripts/services.sh starts them). */
import { createServer, type AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import memjs from 'memjs';
import { memcachedBackend, rendezvous } from '../../src/backends/memcached/index.js';
import { sha256Hex } from '../../src/backends/digest.js';
import { describeWhenAvailable } from '../helpers/services.js';
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

it('fails a call at once when the server closes the connection before answering (memjs left it pending)', async () => {
  // A server that reads the request and closes, as a memcached killed or restarted mid-request does.
  const server = createServer((socket) => {
    socket.once('data', () => {
      socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const backend = await memcachedBackend(
    { url: `127.0.0.1:${String(port)}`, memcache_module: 'memjs' },
    { clock: Date.now, report: () => undefined },
  );
  const started = Date.now();
  await expect(backend.get('closed', 'k')).rejects.toThrow(/connection closed before the server answered/);
  // memjs's own request timeout (5 s here) was cancelled by the close: only the fix ends the call.
  expect(Date.now() - started).toBeLessThan(1000);
  await backend.close();
  server.close();
});
