/**
 * ext:redis's two client libraries: `redis_module`; a node-redis or ioredis client passed in code (used, never
 * closed), including the pub/sub wake-up of lock waiters on node-redis; and a server that hangs (SIGSTOP) failing
 * calls within the command timeout.
 */
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { Redis } from 'ioredis';
// The previous major, still in the peer range (installed under an alias).
import { Redis as Redis5 } from 'ioredis5';
import { ConfigError } from '../../src/index.js';
import { redisBackend, redisLocks } from '../../src/backends/redis/index.js';
import { describeWhenAvailable, unreachable } from '../helpers/services.js';
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
