/**
 * Logout across server processes, over real HTTP, on every back-end that processes share: the victim logs out
 * through one process while a stolen cookie keeps making saving requests through another. The removed session must
 * stay dead: 0 resurrections in 200 trials per back-end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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
  });
}
