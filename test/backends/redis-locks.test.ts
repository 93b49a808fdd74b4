/**
 * The Redis creation lock: renewal while held, release by its owner only, pub/sub wake-up of waiters. (Takeover
 * after a SIGKILLed holder is in the shared conformance suite.) A release that fails while Redis is down is tried
 * again once it is back.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { entryLockKey, redisBackend, redisLocks, storageKey } from '../../src/backends/redis/index.js';
import { entryLockName, type LockHandle } from '../../src/locks/contract.js';
import { REDIS_CLUSTER_URLS } from '../helpers/server-stores.js';
import { describeWhenAvailable, spawnDurableRedis, unreachable, waitForPort } from '../helpers/services.js';
import { expectWokenOnRelease, WatchedTimers, within } from '../helpers/locks.js';

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
      const key = `beaker:lock:${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
      const timers = new WatchedTimers();
      const [mine, theirs] = [
        redisLocks(client, 600, { ...context, timers }),
        redisLocks(client, 600, context),
      ];
      const lock = await mine.acquire(name, 0);
      // Renewals every 200 ms: when the fourth is sent, 800 ms have passed, and only the renewals have kept the key
      // past its 600 ms lease.
      await within(timers.callbacksRun(4), 5000, 'the holder sent no fourth renewal');
      expect(await client.pttl(key)).toBeGreaterThan(0);
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
      const timers = new WatchedTimers();
      const [owner, waiter] = [
        redisLocks(client, 30_000, context),
        redisLocks(client, 30_000, { ...context, timers }),
      ];
      await expectWokenOnRelease(owner, waiter, `wake-${Date.now()}`, timers.nextLongWait);
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

const RESTARTED_PORT = 6393;

describeWhenAvailable(
  'Redis creation locks over a Redis crash',
  spawnSync('redis-server', ['--version']).status === 0 ? undefined : 'redis-server is not installed',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'beaker-lock-restart-'));
    const redisCli = (...args: string[]): string =>
      spawnSync('redis-cli', ['-p', String(RESTARTED_PORT), ...args])
        .stdout.toString()
        .trim();
    let server: ChildProcess | undefined;
    // Every write is on disk before Redis answers: a lock taken before the crash is there after the restart.
    const start = async (): Promise<void> => {
      server = spawnDurableRedis(RESTARTED_PORT, dir);
      await waitForPort(RESTARTED_PORT, 'redis-server');
      // The server that answers is this one (not one left over on the port by an earlier run).
      if (!redisCli('config', 'get', 'dir').includes(dir))
        throw new Error(`port ${String(RESTARTED_PORT)} is taken`);
    };
    const crash = async (): Promise<void> => {
      const exited =
        server && server.exitCode === null && server.signalCode === null ? once(server, 'exit') : undefined;
      server?.kill('SIGKILL');
      await exited;
    };
    const appendOnlyFile = (): string =>
      readdirSync(join(dir, 'appendonlydir'))
        .map((file) => readFileSync(join(dir, 'appendonlydir', file), 'latin1'))
        .join('');
    afterEach(crash);
    afterAll(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    describe.each(['ioredis', 'redis'])('redis_module = %s', (module) => {
      it('frees a lock whose release failed while Redis was down once Redis is back, not at the end of its lease', async () => {
        await start();
        const url = `redis://127.0.0.1:${String(RESTARTED_PORT)}/0`;
        const [holder, waiter] = await Promise.all([
          redisBackend({ url, redis_module: module, lock_lease: 30 }, context),
          redisBackend({ url, redis_module: module, lock_lease: 30 }, context),
        ]);
        const name = entryLockName('restart', module);
        const lock = await holder.locks?.acquire(name, 0);
        expect(lock).toBeDefined();
        await crash();
        // The store is down: the release cannot reach it, and does not fail its caller.
        await lock?.release();
        // The crash kept the lock (its append-only file has it): without a release, it stays for its 30 s lease.
        expect(appendOnlyFile()).toContain(entryLockKey(name));
        await start();
        const waitStarted = Date.now();
        let next: LockHandle | undefined | null;
        for (;;) {
          // Until the waiter's client has reconnected, taking the lock fails; then it waits for the release.
          next = await waiter.locks?.acquire(name, 10_000).catch(() => null);
          if (next !== null) break;
          // The client is the back-end's own, so its reconnection cannot be awaited: a short pause between tries
          // (without one, each failing at once, the loop would spin).
          await sleep(20);
        }
        // Not left to the 30 s lease: the holder released it as soon as Redis was back.
        expect(next).toBeDefined();
        expect(Date.now() - waitStarted).toBeLessThan(5000);
        await next?.release();
        await Promise.all([holder.close(), waiter.close()]);
      }, 30_000);
    });
  },
);
