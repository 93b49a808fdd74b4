/** Key placement across a memcached pool: rendezvous hashing spreads keys and moves few when the pool changes. */
import { expect, it } from 'vitest';
import { rendezvous } from '../../src/backends/memcached/index.js';

const POOL = ['10.0.0.1:11211', '10.0.0.2:11211', '10.0.0.3:11211'];
const KEYS = Array.from({ length: 3000 }, (_unused, index) => `bk:ns:1:key-${index}`);

it('spreads keys over every server of the pool', () => {
  const counts = [0, 0, 0];
  for (const key of KEYS) counts[rendezvous(POOL, key)] = (counts[rendezvous(POOL, key)] ?? 0) + 1;
  for (const count of counts) expect(count).toBeGreaterThan(800);
});

it('moves only the removed server’s keys when a server leaves the pool', () => {
  const smaller = [POOL[0] as string, POOL[2] as string];
  for (const key of KEYS) {
    const before = POOL[rendezvous(POOL, key)];
    const after = smaller[rendezvous(smaller, key)];
    if (before !== POOL[1]) expect(after).toBe(before);
  }
});

it('names the accepted client libraries when memcache_module is another', async () => {
  const { memcachedBackend } = await import('../../src/backends/memcached/index.js');
  const { ConfigError } = await import('../../src/index.js');
  const attempt = memcachedBackend(
    { url: '127.0.0.1:11211', memcache_module: 'pylibmc' },
    { clock: Date.now, report: () => undefined },
  );
  await expect(attempt).rejects.toThrow(ConfigError);
  await expect(attempt).rejects.toThrow(/memcache_module must be auto, memjs or memcached.*pylibmc/);
});
