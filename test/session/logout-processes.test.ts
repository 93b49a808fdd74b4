/**
 * Logout across server processes, over real HTTP, on every back-end that processes share: the victim logs out
 * through one process while a stolen cookie keeps making saving requests through another. The removed session must
 * stay dead: 0 resurrections in 200 trials per back-end. And "log out everywhere else": the sessions of one user,
 * logged in at once through both processes, are all listed, and ending the others from one of them ends them on
 * every process, though they keep saving while it happens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { processSharedStores } from '../helpers/server-stores.js';
import { describeWhenAvailable } from '../helpers/services.js';
import { SECRET } from './helpers.js';

const SERVER = fileURLToPath(new URL('./fixtures/logout-server.ts', import.meta.url));
const TRIALS = 200;
/** Trials run this many at a time. */
const PARALLEL = 20;
/** Saving requests of the stolen cookie in flight around each logout. */
const ATTACKS = 4;
/** Sessions of one user logged in at once through the two processes. */
const LOGINS = 12;

const stores = await processSharedStores();

async function startServer(options: Record<string, unknown>): Promise<{ base: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  return { base: `http://127.0.0.1:${chunk.toString().trim()}`, child };
}

async function get(
  base: string,
  path: string,
  cookie = '',
): Promise<{ text: string; cookie: string | undefined }> {
  const response = await fetch(`${base}${path}`, { headers: cookie === '' ? {} : { cookie } });
  return { text: await response.text(), cookie: response.headers.getSetCookie()[0]?.split(';')[0] };
}

for (const store of stores) {
  describeWhenAvailable(`logout across server processes: ${store.label}`, store.unavailable, () => {
    const servers: { base: string; child: ChildProcess }[] = [];
    beforeAll(async () => {
      const options = { ...store.options, secret: SECRET, table_name: 'beaker_ts_logout_processes' };
      servers.push(...(await Promise.all([startServer(options), startServer(options)])));
    }, 30_000);
    afterAll(() => {
      for (const { child } of servers) child.kill();
    });

    it(`keeps a logged-out session dead against ${String(ATTACKS)} saving requests from another process (${String(TRIALS)} trials)`, async () => {
      const [victimSide, attackerSide] = servers.map(({ base }) => base) as [string, string];
      const trial = async (): Promise<boolean> => {
        const { cookie: stolen } = await get(victimSide, '/login');
        if (stolen === undefined) throw new Error('the login sent no cookie');
        const attacks = Array.from({ length: ATTACKS }, () => get(attackerSide, '/work', stolen));
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
        await get(victimSide, '/logout', stolen);
        await Promise.all(attacks);
        const seen = await Promise.all([
          get(victimSide, '/whoami', stolen),
          get(attackerSide, '/whoami', stolen),
        ]);
        return seen.some(({ text }) => text !== 'anonymous');
      };
      let resurrected = 0;
      for (let done = 0; done < TRIALS; done += PARALLEL) {
        const results = await Promise.all(Array.from({ length: PARALLEL }, trial));
        resurrected += results.filter(Boolean).length;
      }
      expect(resurrected).toBe(0);
    }, 180_000);

    it('lists the sessions of a user logged in through both processes, and logs out everywhere else', async () => {
      const bases = servers.map(({ base }) => base);
      const baseOf = (index: number): string => bases[index % bases.length] as string;
      const user = `user-${randomUUID()}`;
      // Logins at once through both processes: the index must lose none of them.
      const logins = await Promise.all(
        Array.from({ length: LOGINS }, (_, index) => get(baseOf(index), `/login-user?user=${user}`)),
      );
      const cookies = logins.map(({ cookie }) => {
        if (cookie === undefined) throw new Error('the login sent no cookie');
        return cookie;
      });
      const refs = await Promise.all(
        cookies.map(async (cookie, index) => (await get(baseOf(index), '/ref', cookie)).text),
      );
      const listed = JSON.parse((await get(baseOf(1), `/sessions?user=${user}`, cookies[0])).text) as {
        ref: string;
      }[];
      expect(listed.map(({ ref }) => ref).sort()).toEqual([...refs].sort());
      expect(JSON.stringify(listed)).not.toMatch(/[0-9a-f]{32}\./);

      // The first session logs out the others through one process while they keep saving through both.
      const [kept, ...others] = cookies as [string, ...string[]];
      const attacks = others.flatMap((cookie, index) => [
        get(baseOf(index), '/work', cookie),
        get(baseOf(index + 1), '/work', cookie),
      ]);
      const ended = Number((await get(baseOf(0), `/logout-others?user=${user}`, kept)).text);
      await Promise.all(attacks);
      expect(ended).toBe(others.length);
      for (const [index, cookie] of others.entries()) {
        expect((await get(baseOf(index), '/whoami', cookie)).text).toBe('anonymous');
        expect((await get(baseOf(index + 1), '/whoami', cookie)).text).toBe('anonymous');
      }
      expect((await get(baseOf(1), '/whoami', kept)).text).toBe('victim');
      const left = JSON.parse((await get(baseOf(1), `/sessions?user=${user}`, kept)).text) as {
        ref: string;
      }[];
      expect(left.map(({ ref }) => ref)).toEqual([refs[0]]);
    }, 60_000);
  });
}
