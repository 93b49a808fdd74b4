/**
 * The Redis creation lock: renewal while held, release by its owner only, pub/sub wake-up of waiters. (Takeover
 * after a SIGKILLed holder is in the shared conformance suite.)
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { entryLockKey, redisLocks, storageKey } from '../../src/backends/redis/index.js';
import { entryLockName } from '../../src/locks/contract.js';
import { REDIS_CLUSTER_URLS } from '../helpers/server-stores.js';
import { describeWhenAvailable, unreachable } from '../helpers/services.js';
import { expectWokenOnRelease } from '../helpers/locks.js';

const REDIS_URL = process.env.BEAKER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/3';
const redisAddress = new URL(REDIS_URL);
const context = { clock: Date.now, report: () => undefined };

describeWhenAvailable(
  'Redis creation locks',
  await unreachable(redisAddress.hostname, Number(redisAddress.port || 6379), 'Redis'),
  () => {
    let client: Redis;
    beforeAll(() => {
      client = new Redis(REDIS_URL);
    });
    afterAll(async () => {
      await client.quit();
    });

    it('stays held past its lease while its holder is alive (renewal)', async () => {
      const name = `renewed-${Date.now()}`;
      const [mine, theirs] = [redisLocks(client, 600, context), redisLocks(client, 600, context)];
      const lock = await mine.acquire(name, 0);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await theirs.acquire(name, 0)).toBeUndefined();
      await lock?.release();
      const next = await theirs.acquire(name, 0);
      expect(next).toBeDefined();
      await next?.release();
      await Promise.all([mine.close(), theirs.close()]);
    });

    it('is released only by its owner: a holder that lost its lock does not delete the new holder’s', async () => {
      const name = `owner-${Date.now()}`;
      const key = `beaker:lock:${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
      const locks = redisLocks(client, 30_000, context);
      const lock = await locks.acquire(name, 0);
      await client.set(key, 'another-holder');
      await lock?.release();
      expect(await client.get(key)).toBe('another-holder');
      await client.del(key);
      await locks.close();
    });

    it('wakes a waiter through pub/sub when the lock is released', async () => {
      const [owner, waiter] = [redisLocks(client, 30_000, context), redisLocks(client, 30_000, context)];
      await expectWokenOnRelease(owner, waiter, `wake-${Date.now()}`);
      await Promise.all([owner.close(), waiter.close()]);
    });
  },
);

const clusterNode = new URL(REDIS_CLUSTER_URLS.split(',')[0] ?? '');

describeWhenAvailable(
  'Redis Cluster: an entry and its lock on one master',
  await unreachable(clusterNode.hostname, Number(clusterNode.port || 6379), 'the Redis Cluster'),
  () => {
    it('gives an entry lock the slot of its entry, by a hash tag', async () => {
      const node = new Redis(clusterNode.href);
      const slotOf = (key: string): Promise<number> => node.cluster('KEYSLOT', key);
      const entries: [string, string][] = [
        ['beaker.session', '0123456789abcdef0123456789abcdef'],
        ['users', 'profile:42'],
        ['users', 'an open { brace'],
        ['users', 'x'.repeat(2000)],
        ['#hashed', '#starts with a hash'],
      ];
      for (const [namespace, key] of entries) {
        const lockKey = entryLockKey(entryLockName(namespace, key));
        expect(lockKey).toBeDefined();
        expect(await slotOf(lockKey ?? '')).toBe(await slotOf(storageKey(namespace, key)));
      }
      // A `}` would end the tag early: that lock keeps the digest key.
      expect(entryLockKey(entryLockName('users', 'tagged {42}'))).toBeUndefined();
      // Names that do not name an entry keep it too.
      expect(entryLockKey('some lock')).toBeUndefined();
      node.disconnect();
    });
  },
);
