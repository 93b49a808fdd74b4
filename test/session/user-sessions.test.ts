/**
 * The sessions of a user: `setUser` binds a session, `sessionsOf` lists the live ones (never an id), `revoke` and
 * `revokeAll` end them, and the index stays true through regeneration, logout, expiry and long activity. Across
 * processes on every shared back-end: test/session/logout-processes.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { SessionManager } from '../../src/index.js';
import { VALIDATE_KEY, cookieFrom, countingManager, request } from './helpers.js';

type Data = { user?: string; n?: number };

/** A login of `user` with `agent`: a new session bound to the user. */
async function login(manager: SessionManager, user: string, agent: string): Promise<string> {
  const { setCookies } = await request<Data>(manager, undefined, async (session) => {
    await session.regenerateId();
    await session.set('user', user);
    await session.setUser(user, { agent });
  });
  const cookie = cookieFrom(setCookies);
  if (cookie === undefined) throw new Error('the login sent no cookie');
  return cookie;
}

/** The user a cookie is logged in as, or undefined. */
async function whoami(manager: SessionManager, cookie: string): Promise<string | undefined> {
  let user: string | undefined;
  await request<Data>(manager, cookie, async (session) => {
    user = await session.get('user');
  });
  return user;
}

async function refOf(manager: SessionManager, cookie: string): Promise<string> {
  const session = await manager.session<Data>(cookie).load();
  return session.ref;
}

describe("a user's sessions", () => {
  it('lists each session bound with setUser, with its info and times, and never an id', async () => {
    const { manager, clock } = countingManager();
    const laptop = await login(manager, 'ada', 'laptop');
    clock.advance(60);
    const phone = await login(manager, 'ada', 'phone');
    await login(manager, 'bob', 'tablet');
    const listed = await manager.sessionsOf('ada');
    expect(listed.map(({ info }) => info?.agent)).toEqual(['phone', 'laptop']);
    expect(listed.map(({ ref }) => ref)).toEqual([await refOf(manager, phone), await refOf(manager, laptop)]);
    expect(listed[0]?.hint).toBe(listed[0]?.ref.slice(0, 8));
    expect(listed[1]?.created.getTime()).toBe(clock.now - 60_000);
    for (const cookie of [laptop, phone]) {
      const id = (await manager.session<Data>(cookie).load()).id;
      expect(JSON.stringify(listed)).not.toContain(id);
    }
    expect(await manager.sessionsOf('nobody')).toEqual([]);
  });

  it('revokes one session: its cookie stops working, the others stay', async () => {
    const { manager } = countingManager();
    const laptop = await login(manager, 'ada', 'laptop');
    const phone = await login(manager, 'ada', 'phone');
    const bob = await login(manager, 'bob', 'tablet');
    // Another user's reference ends nothing.
    expect(await manager.revoke('bob', await refOf(manager, phone))).toBe(false);
    expect(await manager.revoke('ada', await refOf(manager, phone))).toBe(true);
    expect(await whoami(manager, phone)).toBeUndefined();
    expect(await whoami(manager, laptop)).toBe('ada');
    expect(await whoami(manager, bob)).toBe('bob');
    expect((await manager.sessionsOf('ada')).map(({ info }) => info?.agent)).toEqual(['laptop']);
  });

  it('logs out everywhere else, keeping the current session', async () => {
    const { manager } = countingManager();
    const cookies = [];
    for (let index = 0; index < 5; index += 1) cookies.push(await login(manager, 'ada', `device ${index}`));
    const [current, ...others] = cookies as [string, ...string[]];
    const session = await manager.session<Data>(current).load();
    expect(await manager.revokeAll('ada', { except: session })).toBe(4);
    for (const cookie of others) expect(await whoami(manager, cookie)).toBeUndefined();
    expect(await whoami(manager, current)).toBe('ada');
    expect((await manager.sessionsOf('ada')).map(({ ref }) => ref)).toEqual([session.ref]);
    // And everywhere: nothing is left.
    expect(await manager.revokeAll('ada')).toBe(1);
    expect(await whoami(manager, current)).toBeUndefined();
    expect(await manager.sessionsOf('ada')).toEqual([]);
  });

  it('cannot be brought back by a request of a revoked session that was in flight', async () => {
    const { manager } = countingManager();
    const stolen = await login(manager, 'ada', 'stolen');
    const late = manager.session<Data>(stolen);
    await late.set('n', 1);
    await manager.revokeAll('ada');
    await late.save();
    await late.persist();
    expect(late.setCookieHeaders()).toEqual([]);
    expect(await whoami(manager, stolen)).toBeUndefined();
    expect(await manager.sessionsOf('ada')).toEqual([]);
  });

  it('follows a regeneration and a logout', async () => {
    const { manager } = countingManager();
    const cookie = await login(manager, 'ada', 'laptop');
    const before = await refOf(manager, cookie);
    const { setCookies } = await request<Data>(manager, cookie, async (session) => {
      await session.regenerateId();
    });
    const regenerated = cookieFrom(setCookies) as string;
    const after = await refOf(manager, regenerated);
    expect(after).not.toBe(before);
    expect((await manager.sessionsOf('ada')).map(({ ref }) => ref)).toEqual([after]);
    await request<Data>(manager, regenerated, (session) => session.invalidate());
    expect(await manager.sessionsOf('ada')).toEqual([]);
  });

  it('keeps the user a concurrent login stored, when a request that did not log in saves', async () => {
    const { manager } = countingManager();
    const { setCookies } = await request<Data>(manager, undefined, async (session) => {
      await session.set('n', 0);
      await session.save();
    });
    const cookie = cookieFrom(setCookies) as string;
    const stale = manager.session<Data>(cookie);
    await stale.load();
    await request<Data>(manager, cookie, (session) => session.setUser('ada'));
    await stale.set('n', 1);
    await stale.save();
    const reloaded = await manager.session<Data>(cookie).load();
    expect(reloaded.user).toBe('ada');
    expect(reloaded.data.n).toBe(1);
    expect(await manager.sessionsOf('ada')).toHaveLength(1);
  });

  it('drops an expired session from the list, and keeps a session that stays active for days', async () => {
    const { manager, clock } = countingManager({ timeout: 1800 });
    const idle = await login(manager, 'ada', 'idle');
    const active = await login(manager, 'ada', 'active');
    // Three days of a request every 10 minutes: the access-time writes keep the session, and its index entry.
    for (let minute = 0; minute < 3 * 24 * 60; minute += 10) {
      clock.advance(600);
      expect(await whoami(manager, active)).toBe('ada');
    }
    expect(await whoami(manager, idle)).toBeUndefined();
    const listed = await manager.sessionsOf('ada');
    expect(listed.map(({ info }) => info?.agent)).toEqual(['active']);
    expect(listed[0]?.lastAccessed.getTime()).toBeGreaterThan(clock.now - 600_000 - 1);
    // The one revocation still reaches it.
    expect(await manager.revokeAll('ada')).toBe(1);
    expect(await whoami(manager, active)).toBeUndefined();
  });

  it('moves a session to its new user when setUser changes it', async () => {
    const { manager } = countingManager();
    const cookie = await login(manager, 'ada', 'shared');
    await request<Data>(manager, cookie, (session) => session.setUser('bob'));
    expect(await manager.sessionsOf('ada')).toEqual([]);
    expect(await manager.sessionsOf('bob')).toHaveLength(1);
  });

  it('refuses a user or info it cannot keep, with errors that say why', async () => {
    const { manager } = countingManager();
    const session = manager.session<Data>(undefined);
    await expect(session.setUser('')).rejects.toThrow(/user must be a string of 1 to 256 characters/);
    await expect(session.setUser('ada', { agent: { nested: true } as unknown as string })).rejects.toThrow(
      /info\.agent must be a string, a number, a boolean or null/,
    );
    await expect(session.setUser('ada', { agent: 'x'.repeat(2000) })).rejects.toThrow(
      /at most 1024 characters/,
    );
  });

  it('is for server-side sessions: cookie sessions have no store to list', () => {
    const manager = new SessionManager({ type: 'cookie', validate_key: VALIDATE_KEY });
    expect(() => manager.sessionsOf('ada')).toThrow(/cookie sessions are kept in their cookies/);
  });
});
