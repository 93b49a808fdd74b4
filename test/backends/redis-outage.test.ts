/**
 * A Redis server stopped and restarted under load (a server this test starts on its own port): cache reads fall
 * back to the creator and report it, sessions fail with a typed SessionStoreError, and service resumes by itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, it } from 'vitest';
import { CacheManager, type CacheEvent } from '../../src/index.js';
import { SessionManager, SessionStoreError } from '../../src/session/index.js';
import { describeWhenAvailable } from '../helpers/services.js';

const PORT = 6391;
const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

function startRedis(dir: string): ChildProcess {
  return spawn(
    'redis-server',
    ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: 'ignore',
    },
  );
}

async function waitUntil(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error('condition not met in time');
}

describeWhenAvailable(
  'Redis outage and recovery',
  hasRedisServer ? undefined : 'redis-server is not installed (apt-get install redis-server)',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'beaker-outage-'));
    let server = startRedis(dir);
    afterAll(() => {
      server.kill('SIGKILL');
    });

    it('keeps serving through a SIGKILL and restart, loses nothing acknowledged, and resumes by itself', async () => {
      const events: CacheEvent[] = [];
      const url = `redis://127.0.0.1:${PORT}/0`;
      const manager = new CacheManager({ type: 'ext:redis', url, onEvent: (event) => events.push(event) });
      const sessions = new SessionManager({
        type: 'ext:redis',
        url,
        secret: 'outage-test-secret-of-32-bytes-or-more!!',
      });
      const cache = manager.getCache<string>('outage');
      await waitUntil(
        async () => (await cache.get('k', { createfunc: () => 'v1' })) === 'v1' && (await cache.has('k')),
      );
      const saved = sessions.session<{ n: number }>(undefined);
      await saved.set('n', 1);
      await saved.save();
      const cookie = saved.setCookieHeaders()[0]?.split(';')[0];

      server.kill('SIGKILL');
      await sleep(300);
      let computed = 0;
      // Down: reads miss, the creator runs, each failure is reported; no call hangs or throws.
      for (let round = 0; round < 5; round += 1) {
        expect(await cache.get('k', { createfunc: () => `computed ${(computed += 1)}` })).toBe(
          `computed ${computed}`,
        );
      }
      expect(events.filter((event) => event.type === 'backend-error').length).toBeGreaterThanOrEqual(5);
      await expect(sessions.session(cookie).load()).rejects.toThrow(SessionStoreError);

      // Back (an empty server: Redis keeps nothing on disk here): the clients reconnect by themselves.
      server = startRedis(dir);
      await waitUntil(async () => {
        await cache.put('k', 'v2').catch(() => undefined);
        return (await cache.get('k')) === 'v2';
      });
      const again = sessions.session<{ n: number }>(undefined);
      await again.set('n', 2);
      await again.save();
      expect(await (await sessions.getById<{ n: number }>(again.id))?.get('n')).toBe(2);
      await manager.close();
      await sessions.close();
    }, 40_000);
  },
);
