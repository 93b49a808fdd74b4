/**
 * Revocation of cookie sessions (`revocation_store`): `revokeAll`, `revoke` and `revokeBefore` refuse sealed cookies
 * on every manager sharing the revocation store within `revocation_check_interval`, and not later; a manager that
 * read the list within the interval decides a load without the store (synchronously), one that did not waits for a
 * read, and a store that fails then fails the load as a store failure. Two managers stand for two processes here; over
 * real HTTP between two processes: test/session/cookie-revocation-processes.test.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ConfigError,
  SessionManager,
  SessionStoreError,
  parseSessionConfigOptions,
  type SessionEvent,
  type SessionManagerOptions,
} from '../../src/index.js';
import { REDIS_URL } from '../helpers/server-stores.js';
import { describeWhenAvailable, unreachable } from '../helpers/services.js';
import {
  CountingBackend,
  ManualClock,
  STORE_FAILURE_DETAIL,
  VALIDATE_KEY,
  cookieFrom,
  request,
} from './helpers.js';

type Data = { user?: string; n?: number };

/** The default bound, in seconds. */
const INTERVAL = 10;

const managers: SessionManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((manager) => manager.close()));
  vi.useRealTimers();
});

/** A cookie-session manager on the revocation store `store` options, with `clock`; its events go to `events`. */
function cookieManager(
  store: SessionManagerOptions,
  clock: ManualClock,
  events: SessionEvent[] = [],
): SessionManager {
  const manager = new SessionManager({
    type: 'cookie',
    validate_key: VALIDATE_KEY,
    clock: clock.read,
    onEvent: (event) => events.push(event),
    ...store,
  });
  managers.push(manager);
  return manager;
}

/** The options of a revocation store on `backend`, counting its operations. */
function countingStore(backend: CountingBackend): SessionManagerOptions {
  return { revocation_store: 'counting', backends: { counting: () => backend } };
}

/** A login of `user`: a new cookie session bound to the user; returns its cookie. */
async function login(manager: SessionManager, user: string, agent = 'laptop'): Promise<string> {
  const { setCookies } = await request<Data>(manager, undefined, async (session) => {
    await session.set('user', user);
    await session.setUser(user, { agent });
    await session.save();
  });
  return cookieFrom(setCookies) as string;
}

/** The user a cookie is logged in as, or undefined when the cookie is refused (a new session). */
async function whoami(manager: SessionManager, cookie: string): Promise<string | undefined> {
  const session = await manager.session<Data>(cookie).load();
  return session.data.user;
}

async function refOf(manager: SessionManager, cookie: string): Promise<string> {
  return (await manager.session<Data>(cookie).load()).ref;
}

/** Two managers ("processes") on one revocation store, and their shared clock. */
function twoProcesses(store: () => SessionManagerOptions, clock = new ManualClock()) {
  const events: SessionEvent[] = [];
  return { a: cookieManager(store(), clock), b: cookieManager(store(), clock, events), clock, events };
}

/** What every shared store must do: refuse on another process within the bound, and not before. */
function refusesAcrossProcesses(store: () => SessionManagerOptions, clock?: () => ManualClock): void {
  it('refuses the sessions of a user revoked on another process within the bound, and keeps the others', async () => {
    const { a, b, clock: time, events } = twoProcesses(store, clock?.());
    const user = `ada-${randomUUID()}`;
    const laptop = await login(a, user);
    const bob = await login(a, `bob-${randomUUID()}`);
    expect(await whoami(b, laptop)).toBe(user);
    time.advance(1);
    await a.revokeAll(user);
    // The revoking process refuses at once; the other within the bound.
    expect(await whoami(a, laptop)).toBeUndefined();
    time.advance(INTERVAL - 2);
    expect(await whoami(b, laptop)).toBe(user);
    time.advance(1);
    expect(await whoami(b, laptop)).toBeUndefined();
    expect(events.map(({ type }) => type)).toEqual(['revoked-session']);
    expect(events[0]?.message).toMatch(/revoked after it was issued\); a new session replaces it/);
    expect(await whoami(b, bob)).toMatch(/^bob-/);
    // A login after the revocation is a session like any other.
    expect(await whoami(b, await login(a, user))).toBe(user);
  });
}

describe('revocation of cookie sessions', () => {
  const shared = new CountingBackend({}, { clock: Date.now });
  refusesAcrossProcesses(() => countingStore(shared));

  it('reads the store at most once per interval for a user never revoked, loading synchronously', async () => {
    const clock = new ManualClock();
    const backend = new CountingBackend({}, { clock: clock.read });
    const manager = cookieManager(countingStore(backend), clock);
    const cookie = await login(manager, 'bob');
    // The first load of a process waits for the first read of the list.
    expect(await whoami(manager, cookie)).toBe('bob');
    expect(backend.reads).toBe(1);
    backend.reset();
    for (let index = 0; index < 100; index += 1) {
      clock.advance((INTERVAL - 1) / 100);
      const session = manager.session<Data>(cookie);
      void session.get('user');
      expect(session.accessed).toBe(true);
      expect(session.data.user).toBe('bob');
    }
    expect(backend.counts()).toEqual({ reads: 0, writes: 0, deletes: 0 });
    // Past the interval, one load waits for one read; the others are synchronous again.
    clock.advance(1);
    const waiting = manager.session<Data>(cookie);
    expect(await waiting.get('user')).toBe('bob');
    for (let index = 0; index < 10; index += 1) {
      const session = manager.session<Data>(cookie);
      void session.get('user');
      expect(session.accessed).toBe(true);
    }
    expect(backend.counts()).toEqual({ reads: 1, writes: 0, deletes: 0 });
  });

  it('reads the list in the background once per interval, on a timer close() stops', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = new ManualClock();
    const backend = new CountingBackend({}, { clock: clock.read });
    const manager = cookieManager(countingStore(backend), clock);
    await manager.ready();
    expect(backend.reads).toBe(1);
    for (let tick = 0; tick < 3; tick += 1) {
      clock.advance(INTERVAL);
      await vi.advanceTimersByTimeAsync(INTERVAL * 1000);
    }
    expect(backend.reads).toBe(4);
    // The copy is fresh: a load needs no read.
    const session = manager.session<Data>(await login(manager, 'bob'));
    void session.get('user');
    expect(session.accessed).toBe(true);
    await manager.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps the current session through "log out everywhere else", its new cookie sent with the response', async () => {
    const backend = new CountingBackend({}, { clock: Date.now });
    const { a, b, clock } = twoProcesses(() => countingStore(backend));
    const others = [await login(a, 'ada', 'phone'), await login(a, 'ada', 'tablet')];
    const current = await login(a, 'ada', 'laptop');
    clock.advance(1);
    // The request's session, not loaded yet: revokeAll loads it before the revocation would refuse it.
    const { setCookies } = await request<Data>(a, current, async (session) => {
      expect(await a.revokeAll('ada', { except: session })).toBe(0);
    });
    const renewed = cookieFrom(setCookies) as string;
    expect(renewed).not.toBe(current);
    expect(await whoami(a, renewed)).toBe('ada');
    for (const cookie of [...others, current]) expect(await whoami(a, cookie)).toBeUndefined();
    clock.advance(INTERVAL);
    expect(await whoami(b, renewed)).toBe('ada');
    expect((await b.session<Data>(renewed).load()).userInfo).toEqual({ agent: 'laptop' });
    for (const cookie of [...others, current]) expect(await whoami(b, cookie)).toBeUndefined();
    await expect(a.revokeAll('ada', { except: 'a-ref' })).rejects.toThrow(
      /except must be the session to keep, not its reference/,
    );
  });

  it('revokes exactly one session by its reference, and only as a session of its user', async () => {
    const backend = new CountingBackend({}, { clock: Date.now });
    const { a, b, clock } = twoProcesses(() => countingStore(backend));
    const laptop = await login(a, 'ada', 'laptop');
    const phone = await login(a, 'ada', 'phone');
    const bob = await login(a, 'bob', 'tablet');
    const phoneRef = await refOf(b, phone);
    expect(await a.revoke('bob', phoneRef)).toBe(true);
    expect(await a.revoke('ada', phoneRef)).toBe(true);
    clock.advance(INTERVAL);
    expect(await whoami(b, phone)).toBeUndefined();
    expect(await whoami(b, laptop)).toBe('ada');
    expect(await whoami(b, bob)).toBe('bob');
    // Saved again (a new seal of the same session), it stays refused.
    expect(await whoami(a, phone)).toBeUndefined();
  });

  it('revokes every cookie session issued before a date, with or without a user', async () => {
    const backend = new CountingBackend({}, { clock: Date.now });
    const { a, b, clock } = twoProcesses(() => countingStore(backend));
    const { setCookies } = await request<Data>(a, undefined, async (session) => {
      await session.set('n', 1);
      await session.save();
    });
    const anonymous = cookieFrom(setCookies) as string;
    const before = await login(a, 'ada');
    clock.advance(60);
    const date = new Date(clock.now);
    const after = await login(a, 'bob');
    await a.revokeBefore(date);
    clock.advance(INTERVAL);
    expect((await b.session<Data>(anonymous).load()).isNew).toBe(true);
    expect(await whoami(b, before)).toBeUndefined();
    expect(await whoami(b, after)).toBe('bob');
    expect(() => a.revokeBefore(new Date(clock.now + 1000))).toThrow(/must not be in the future/);
    expect(() => a.revokeBefore(new Date(Number.NaN))).toThrow(/must be a valid Date/);
  });

  it('fails a load that needs the list as a store failure when the store is down, and never accepts', async () => {
    const clock = new ManualClock();
    const backend = new CountingBackend({}, { clock: clock.read });
    const events: SessionEvent[] = [];
    const manager = cookieManager(countingStore(backend), clock, events);
    const cookie = await login(manager, 'ada');
    backend.failing = true;
    clock.advance(INTERVAL);
    const failure = await manager
      .session<Data>(cookie)
      .load()
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SessionStoreError);
    expect(String(failure)).not.toContain('hunter2');
    expect(events.map(({ type }) => type)).toEqual(['store-error']);
    await expect(manager.revokeAll('ada')).rejects.toBeInstanceOf(SessionStoreError);
    // A request without a cookie needs no list.
    expect((await manager.session<Data>(undefined).load()).isNew).toBe(true);
    backend.failing = false;
    expect(await whoami(manager, cookie)).toBe('ada');
    expect(STORE_FAILURE_DETAIL).toContain('hunter2');
  });

  it('fails on an unreadable list as on a store failure', async () => {
    const clock = new ManualClock();
    const backend = new CountingBackend({}, { clock: clock.read });
    const manager = cookieManager(countingStore(backend), clock);
    const cookie = await login(manager, 'ada');
    await backend.set('beaker.session.revocations', 'cookie-sessions', '{"f":2}', {});
    clock.advance(INTERVAL);
    await expect(manager.session<Data>(cookie).load()).rejects.toBeInstanceOf(SessionStoreError);
  });

  it('drops entries once absolute_timeout has ended every session they refuse', async () => {
    const clock = new ManualClock();
    const backend = new CountingBackend({}, { clock: clock.read });
    const manager = cookieManager({ ...countingStore(backend), absolute_timeout: 3600 }, clock);
    await manager.revokeAll('ada');
    await manager.revoke('bob', 'a'.repeat(32));
    expect(JSON.parse(backend.peek('beaker.session.revocations', 'cookie-sessions') as string)).toMatchObject(
      {
        u: { ada: { a: clock.now }, bob: { r: { ['a'.repeat(32)]: clock.now } } },
      },
    );
    clock.advance(3601);
    await manager.revokeAll('carol');
    expect(
      Object.keys(
        (JSON.parse(backend.peek('beaker.session.revocations', 'cookie-sessions') as string) as { u: object })
          .u,
      ),
    ).toEqual(['carol']);
  });
});

describe('revocation of cookie sessions on a file store', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'beaker-revocation-'));
  refusesAcrossProcesses(() => ({ revocation_store: 'file', data_dir: dataDir }));
});

describeWhenAvailable(
  'revocation of cookie sessions on ext:redis',
  await unreachable('127.0.0.1', 6379, 'Redis'),
  () => {
    // Real time, so that absolute_timeout drops the entries of earlier runs from the shared database.
    const clock = (): ManualClock => Object.assign(new ManualClock(), { now: Date.now() });
    refusesAcrossProcesses(
      () => ({ revocation_store: 'ext:redis', url: REDIS_URL, absolute_timeout: 600 }),
      clock,
    );
  },
);

describe('the revocation options', () => {
  const cookie = { type: 'cookie', validate_key: VALIDATE_KEY };

  it('are checked, each error naming its option', () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ type: 'memory', revocation_store: 'ext:redis' }, 'revocation_store', /is for type = cookie/],
      [{ revocation_store: 'file' }, 'revocation_store', /is for type = cookie/],
      [{ ...cookie, revocation_store: 'cookie' }, 'revocation_store', /not cookie/],
      [
        { ...cookie, revocation_store: 'file', crypto_type: 'cryptography' },
        'revocation_store',
        /needs crypto_type = default/,
      ],
      [{ ...cookie, revocation_check_interval: 5 }, 'revocation_check_interval', /needs revocation_store/],
      [
        { ...cookie, revocation_store: 'file', revocation_check_interval: '0' },
        'revocation_check_interval',
        /at least 1/,
      ],
      [
        { ...cookie, revocation_store: 'file', revocation_check_interval: 'soon' },
        'revocation_check_interval',
        /whole number of seconds/,
      ],
    ];
    for (const [options, option, message] of cases) {
      let error: unknown;
      try {
        new SessionManager(options);
      } catch (thrown) {
        error = thrown;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe(option);
      expect((error as ConfigError).message).toMatch(message);
    }
    expect(() => new SessionManager({ ...cookie, revocation_store: 'ext:redsi' })).toThrow(/ext:redis/);
  });

  it('come from INI strings', () => {
    const options = parseSessionConfigOptions({
      'session.type': 'cookie',
      'session.revocation_store': 'ext:redis',
      'session.revocation_check_interval': '30',
    });
    expect(options).toMatchObject({ revocation_store: 'ext:redis', revocation_check_interval: 30 });
  });

  it('leave cookie sessions as they were without revocation_store, the revocations refused', () => {
    const manager = new SessionManager(cookie);
    expect(() => manager.revokeAll('ada')).toThrow(/set revocation_store to revoke them/);
    expect(() => manager.revoke('ada', 'ref')).toThrow(/set revocation_store to revoke them/);
    expect(() => manager.revokeBefore(new Date(0))).toThrow(/set revocation_store to revoke them/);
    expect(() => manager.sessionsOf('ada')).toThrow(/cookie sessions are kept in their cookies/);
  });

  it('refuse revokeBefore with a date that is not one, or in the future', () => {
    const manager = new SessionManager({ type: 'memory' });
    expect(() => manager.revokeBefore(new Date(Number.NaN))).toThrow(/before must be a valid Date/);
    expect(() => manager.revokeBefore(new Date(Date.now() + 60_000))).toThrow(/must not be in the future/);
  });
});
