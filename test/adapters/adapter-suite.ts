/**
 * One behaviour suite for every framework adapter: each framework serves the same small application over real
 * HTTP on 127.0.0.1, and the same scenarios run against it with a cookie-keeping client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Session, SessionManager } from '../../src/session/index.js';

/** The application every framework serves: what a route does with the session, and the text it answers. */
export async function appLogic(
  path: string,
  session: Session<{ value?: number; user?: string }>,
): Promise<string> {
  switch (path) {
    case '/untouched':
      return 'nothing';
    case '/read':
      return String((await session.get('value')) ?? 'none');
    case '/login':
      await session.regenerateId();
      await session.set('user', 'ada');
      await session.save();
      return `welcome ${session.id}`;
    case '/logout':
      await session.delete();
      return 'bye';
    case '/nosave':
    case '/': {
      const value = ((await session.get('value')) ?? 0) + 1;
      await session.set('value', value);
      if (path === '/') await session.save();
      return String(value);
    }
    default:
      return 'unknown';
  }
}

/** A running server of one framework. */
export interface RunningApp {
  url: string;
  close(): Promise<void>;
}

/** A client that keeps cookies as a browser does (name → value), and what the last response set. */
class Client {
  readonly jar = new Map<string, string>();
  lastSetCookies: string[] = [];

  constructor(readonly base: string) {}

  async get(path: string, cookieOverride?: string): Promise<{ status: number; text: string }> {
    const cookie = cookieOverride ?? [...this.jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(`${this.base}${path}`, { headers: cookie ? { cookie } : {} });
    this.lastSetCookies = response.headers.getSetCookie();
    for (const header of this.lastSetCookies) {
      const [pair = '', ...attributes] = header.split(';');
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(pair.indexOf('=') + 1);
      const expired = attributes.some((attribute) => /expires=thu, 01 jan 1970/i.test(attribute.trim()));
      if (value === '' || expired) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return { status: response.status, text: await response.text() };
  }
}

/** A session store whose failure the suite can switch on. */
export interface FailingSwitch {
  failing: boolean;
}

/**
 * Declares the suite for one framework: `start(manager)` serves {@link appLogic} with sessions from `manager`.
 */
export function describeAdapter(
  framework: string,
  kinds: {
    name: string;
    manager: () => { manager: SessionManager; store?: FailingSwitch };
    hasStore: boolean;
  }[],
  start: (manager: SessionManager) => Promise<RunningApp>,
): void {
  describe.each(kinds)(`${framework} adapter, $name sessions`, ({ manager: makeManager, hasStore }) => {
    let app: RunningApp;
    let store: FailingSwitch | undefined;

    beforeAll(async () => {
      const made = makeManager();
      store = made.store;
      app = await start(made.manager);
    });
    afterAll(async () => app.close());

    it('counts 1, 2, 3 for one client, and keeps two clients apart (cases 110, 117, 135)', async () => {
      const [first, second] = [new Client(app.url), new Client(app.url)];
      expect((await first.get('/')).text).toBe('1');
      expect((await first.get('/')).text).toBe('2');
      expect((await second.get('/')).text).toBe('1');
      expect((await first.get('/')).text).toBe('3');
    });

    it('sends no cookie when the session is not used, and none for an unsaved change (cases 118, 134)', async () => {
      const client = new Client(app.url);
      await client.get('/untouched');
      expect(client.lastSetCookies).toEqual([]);
      expect((await client.get('/nosave')).text).toBe('1');
      expect(client.lastSetCookies).toEqual([]);
      expect((await client.get('/nosave')).text).toBe('1');
    });

    it('sets the cookie with its attributes', async () => {
      const client = new Client(app.url);
      await client.get('/');
      expect(client.lastSetCookies).toHaveLength(1);
      expect(client.lastSetCookies[0]).toMatch(
        /^beaker\.session\.id=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/,
      );
    });

    it('answers a tampered, garbled or absurd cookie with a fresh session and a normal response', async () => {
      const client = new Client(app.url);
      await client.get('/');
      await client.get('/');
      const [name, value] = [...client.jar][0] ?? ['', ''];
      for (const cookie of [
        `${name}=${value.slice(0, -3)}abc`,
        `${name}=${value.slice(0, 10)}`,
        `${name}=%%%; ${name}=;;;=`,
        `${name}=${'x'.repeat(8000)}`,
        `=; ;;${name}==="${name}"; ${name}=${value}${value}`,
      ]) {
        const response = await client.get('/read', cookie);
        expect(response.status).toBe(200);
        expect(response.text).toBe('none');
      }
    });

    it('gives a new id on login and forgets the old one (server-side), and drops the cookie on logout', async () => {
      const client = new Client(app.url);
      await client.get('/');
      const before = [...client.jar.values()][0];
      await client.get('/login');
      const after = [...client.jar.values()][0];
      expect(after).toBeDefined();
      expect(after).not.toBe(before);
      expect((await client.get('/read')).text).toBe('1');
      await client.get('/logout');
      expect(client.lastSetCookies[0]).toMatch(/Expires=Thu, 01 Jan 1970 00:00:00 GMT/);
      expect((await client.get('/read')).text).toBe('none');
    });

    // Cookie sessions have no store that could fail.
    it.runIf(hasStore)(
      'answers 503 while the session store is down, and recovers when it is back',
      async () => {
        if (!store)
          throw new Error('this kind of session was declared with a store, but its factory gave none');
        const client = new Client(app.url);
        await client.get('/');
        store.failing = true;
        try {
          const failed = await client.get('/');
          expect(failed.status).toBe(503);
          // The store's own words (a URL with its password, a host) reach the logs, never the client.
          expect(failed.text).not.toMatch(/hunter2|10\.9\.8\.7|cannot connect/);
          expect((await client.get('/untouched')).status).toBe(200);
        } finally {
          store.failing = false;
        }
        expect((await client.get('/')).text).toBe('2');
      },
    );
  });
}
