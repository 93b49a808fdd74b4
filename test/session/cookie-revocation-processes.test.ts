/**
 * Revocation of cookie sessions across two OS processes, over real HTTP: a user's sessions revoked through one process
 * are refused by the other within `revocation_check_interval` (1 s here), on a file store and on ext:redis, and the
 * session kept by "log out everywhere else" goes on working on both with the cookie the revoking response sent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REDIS_URL } from '../helpers/server-stores.js';
import { describeWhenAvailable, unreachable } from '../helpers/services.js';
import { VALIDATE_KEY } from './helpers.js';

const SERVER = fileURLToPath(new URL('./fixtures/cookie-revocation-server.ts', import.meta.url));
/** The bound, in seconds. */
const INTERVAL = 1;
/** What the bound may be exceeded by on a loaded machine: the polling step and the time of one request. */
const SLACK_MS = 400;

async function startServer(options: Record<string, unknown>): Promise<{ base: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  return { base: `http://127.0.0.1:${chunk.toString().trim()}`, child };
}

async function get(base: string, path: string, cookie = ''): Promise<{ text: string; cookie: string }> {
  const response = await fetch(`${base}${path}`, { headers: cookie === '' ? {} : { cookie } });
  return { text: await response.text(), cookie: response.headers.getSetCookie()[0]?.split(';')[0] ?? cookie };
}

/** How long after `since` the cookie is refused by `base` (polled every 50 ms, for at most 5 s). */
async function refusedAfter(base: string, cookie: string, since: number): Promise<number> {
  while (performance.now() - since < 5000) {
    if ((await get(base, '/whoami', cookie)).text === 'anonymous') return performance.now() - since;
    await sleep(50);
  }
  return Number.POSITIVE_INFINITY;
}

const stores = [
  {
    label: 'file',
    options: { revocation_store: 'file', data_dir: mkdtempSync(join(tmpdir(), 'beaker-rev-')) },
  },
  {
    label: 'ext:redis',
    options: { revocation_store: 'ext:redis', url: REDIS_URL, absolute_timeout: 600 },
    unavailable: await unreachable('127.0.0.1', 6379, 'Redis'),
  },
];

for (const store of stores) {
  describeWhenAvailable(
    `revocation of cookie sessions across processes: ${store.label}`,
    store.unavailable,
    () => {
      const servers: { base: string; child: ChildProcess }[] = [];
      beforeAll(async () => {
        const options = {
          ...store.options,
          type: 'cookie',
          validate_key: VALIDATE_KEY,
          revocation_check_interval: INTERVAL,
        };
        servers.push(...(await Promise.all([startServer(options), startServer(options)])));
      }, 30_000);
      afterAll(() => {
        for (const { child } of servers) child.kill();
      });

      it(`refuses a revoked user's sessions on the other process within ${String(INTERVAL)} s`, async () => {
        const [revoking, other] = servers.map(({ base }) => base) as [string, string];
        const user = `ada-${randomUUID()}`;
        const { cookie } = await get(revoking, `/login?user=${user}`);
        const bob = (await get(revoking, `/login?user=bob-${randomUUID()}`)).cookie;
        expect((await get(other, '/whoami', cookie)).text).toBe(user);
        // Logins and revocations are told apart by the millisecond.
        await sleep(5);
        const since = performance.now();
        await get(revoking, `/logout-everywhere?user=${user}`);
        expect((await get(revoking, '/whoami', cookie)).text).toBe('anonymous');
        expect(await refusedAfter(other, cookie, since)).toBeLessThan(INTERVAL * 1000 + SLACK_MS);
        expect((await get(other, '/whoami', bob)).text).toMatch(/^bob-/);
      }, 20_000);

      it('keeps the session of "log out everywhere else" on both processes, with its new cookie', async () => {
        const [revoking, other] = servers.map(({ base }) => base) as [string, string];
        const user = `ada-${randomUUID()}`;
        const phone = (await get(other, `/login?user=${user}`)).cookie;
        const laptop = (await get(revoking, `/login?user=${user}`)).cookie;
        await sleep(5);
        const since = performance.now();
        const renewed = (await get(revoking, `/logout-others?user=${user}`, laptop)).cookie;
        expect(renewed).not.toBe(laptop);
        expect(await refusedAfter(other, phone, since)).toBeLessThan(INTERVAL * 1000 + SLACK_MS);
        expect(await refusedAfter(other, laptop, since)).toBeLessThan(INTERVAL * 1000 + SLACK_MS);
        for (const base of [revoking, other]) expect((await get(base, '/whoami', renewed)).text).toBe(user);
      }, 20_000);
    },
  );
}
