/**
 * Logout over real HTTP (Express) while a stolen cookie keeps making saving requests: the removed session must stay
 * dead. Requests that loaded the session before the logout finish after it, and their saves must write nothing.
 */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionMiddleware } from '../../src/adapters/express.js';
import { SessionManager, type Session } from '../../src/session/index.js';
import { describeWhenAvailable } from '../helpers/services.js';
import { serverStores } from '../helpers/server-stores.js';
import { SECRET } from './helpers.js';

type Data = { user?: string; hits?: number };
type Gate = { opened: Promise<void>; open: () => void };

function gate(): Gate {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

const TRIALS = 20;
const IN_FLIGHT = 5;

function describeLogoutRace(label: string, options: Record<string, unknown>): void {
  describe(`logout against a stolen cookie over Express, ${label}`, () => {
    const manager = new SessionManager({ ...options, secret: SECRET, onEvent: () => undefined });
    let base = '';
    let close = (): Promise<void> => Promise.resolve();
    /** Saving requests wait here after loading their session, so that they straddle the logout. */
    let held: Gate | undefined;
    let loadedCount = 0;

    beforeAll(async () => {
      const app = express();
      app.use(sessionMiddleware(manager));
      const sessionOf = (req: express.Request): Session<Data> =>
        (req as unknown as { session: Session<Data> }).session;
      app.get('/login', async (req, res) => {
        const session = sessionOf(req);
        await session.regenerateId();
        await session.set('user', 'victim');
        await session.save();
        res.send('ok');
      });
      app.get('/work', async (req, res) => {
        const session = sessionOf(req);
        const hits = (await session.get('hits')) ?? 0;
        loadedCount += 1;
        if (held) await held.opened;
        await session.set('hits', hits + 1);
        await session.save();
        res.send(String(hits + 1));
      });
      app.get('/logout', async (req, res) => {
        await sessionOf(req).delete();
        res.send('bye');
      });
      app.get('/whoami', async (req, res) => {
        res.send((await sessionOf(req).get('user')) ?? 'anonymous');
      });
      const server = createServer(app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      close = () =>
        new Promise((resolve) =>
          server.close(() => {
            resolve();
          }),
        );
    });
    afterAll(async () => {
      await close();
      await manager.close();
    });

    const get = async (path: string, cookie: string): Promise<{ text: string; setCookie: string[] }> => {
      const response = await fetch(`${base}${path}`, { headers: cookie === '' ? {} : { cookie } });
      return { text: await response.text(), setCookie: response.headers.getSetCookie() };
    };
    const login = async (): Promise<string> => {
      const { setCookie } = await get('/login', '');
      const cookie = setCookie[0]?.split(';')[0];
      if (cookie === undefined) throw new Error('the login sent no cookie');
      return cookie;
    };

    it(`stays logged out when ${IN_FLIGHT} saving requests straddle the logout (${TRIALS} trials)`, async () => {
      let resurrected = 0;
      for (let trial = 0; trial < TRIALS; trial += 1) {
        const stolen = await login();
        held = gate();
        loadedCount = 0;
        const attacks = Array.from({ length: IN_FLIGHT }, () => get('/work', stolen));
        while (loadedCount < IN_FLIGHT) await new Promise((resolve) => setTimeout(resolve, 1));
        await get('/logout', stolen);
        held.open();
        const answers = await Promise.all(attacks);
        held = undefined;
        // No late request hands out a cookie: the stolen id is dead, and a deletion could hit the victim's new one.
        expect(answers.flatMap(({ setCookie }) => setCookie)).toEqual([]);
        if ((await get('/whoami', stolen)).text !== 'anonymous') resurrected += 1;
      }
      expect(resurrected).toBe(0);
    });

    it(`stays logged out while saving requests keep coming during the logout (${TRIALS} trials)`, async () => {
      let resurrected = 0;
      for (let trial = 0; trial < TRIALS; trial += 1) {
        const stolen = await login();
        let attacking = true;
        const attacker = (async () => {
          while (attacking) await get('/work', stolen);
        })();
        await new Promise((resolve) => setTimeout(resolve, 2));
        await get('/logout', stolen);
        attacking = false;
        await attacker;
        if ((await get('/whoami', stolen)).text !== 'anonymous') resurrected += 1;
      }
      expect(resurrected).toBe(0);
    });
  });
}

describeLogoutRace('file sessions', {
  type: 'file',
  data_dir: mkdtempSync(join(tmpdir(), 'beaker-logout-')),
});
for (const store of await serverStores()) {
  if (store.label !== 'ext:redis') continue;
  if (store.unavailable === undefined) describeLogoutRace(`${store.label} sessions`, store.options);
  else describeWhenAvailable(`logout race on ${store.label}`, store.unavailable, () => undefined);
}
