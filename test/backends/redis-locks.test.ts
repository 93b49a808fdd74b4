/** The Redis creation lock: takeover after a killed holder, renewal while held, pub/sub wake-up of waiters. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { redisLocks } from '../../src/backends/redis/index.js';
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

    it('is taken over within the lease when its holder is killed with SIGKILL', async () => {
      const name = `killed-holder-${Date.now()}`;
      const holder = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `import { Redis } from 'ioredis';
         import { redisLocks } from ${JSON.stringify(new URL('../../src/backends/redis/index.ts', import.meta.url).href)};
         const locks = redisLocks(new Redis(${JSON.stringify(REDIS_URL)}), 2000, { clock: Date.now, report: () => {} });
         await locks.acquire(${JSON.stringify(name)}, 0);
         process.stdout.write('held\\n');
         setInterval(() => {}, 1000);`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'], cwd: new URL('../..', import.meta.url).pathname },
      );
      await new Promise<void>((resolve) => {
        holder.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('held')) resolve();
        });
      });
      holder.kill('SIGKILL');
      const locks = redisLocks(client, 2000, context);
      expect(await locks.acquire(name, 0)).toBeUndefined();
      const started = Date.now();
      const lock = await locks.acquire(name, 10_000);
      expect(lock).toBeDefined();
      // Not before the lease ran out, and not long after: nobody waits forever.
      expect(Date.now() - started).toBeLessThan(3500);
      await lock?.release();
      await locks.close();
    }, 20_000);

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
