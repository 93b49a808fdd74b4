import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/index.js';
import { beakerSign } from '../../src/session/crypto.js';
import { hashedSessionKey } from '../../src/session/store-keys.js';
import {
  SessionCorruptError,
  SessionCookieTooLargeError,
  SessionManager,
  SessionNotLoadedError,
  SessionStoreError,
  type SessionEvent,
  type SessionManagerOptions,
} from '../../src/session/index.js';
import {
  ENCRYPT_KEY,
  ManualClock,
  SECRET,
  VALIDATE_KEY,
  cookieFrom,
  countingManager,
  request,
  savedSession,
} from './helpers.js';
import { describeWhenAvailable } from '../helpers/services.js';
import { serverStores } from '../helpers/server-stores.js';

type Data = { value?: number; foo?: string; a?: string; b?: string; c?: string; d?: string; user?: string };

/** Each kind of session the checks run against. */
const diskDir = (): string => mkdtempSync(join(tmpdir(), 'beaker-session-'));
const KINDS: [string, Record<string, unknown>][] = [
  ['server-side (memory)', {}],
  ['server-side (file)', { type: 'file', data_dir: diskDir() }],
  ['server-side (dbm)', { type: 'dbm', data_dir: diskDir() }],
  ['server-side, encrypted', { encrypt_key: ENCRYPT_KEY }],
  ['cookie (AES-256-GCM)', { type: 'cookie', validate_key: VALIDATE_KEY }],
  [
    'cookie, Beaker cryptography format',
    { type: 'cookie', validate_key: VALIDATE_KEY, encrypt_key: ENCRYPT_KEY, crypto_type: 'cryptography' },
  ],
  [
    'cookie, Beaker pycrypto format',
    { type: 'cookie', validate_key: VALIDATE_KEY, encrypt_key: ENCRYPT_KEY, crypto_type: 'pycrypto' },
  ],
  [
    'cookie, Beaker signed-only format',
    { type: 'cookie', validate_key: VALIDATE_KEY, crypto_type: 'cryptography' },
  ],
];

// Server-side sessions on every real server too; a missing server is skipped loudly (a failure under CI).
for (const store of await serverStores()) {
  if (store.unavailable === undefined) KINDS.push([`server-side (${store.label})`, store.options]);
  else describeWhenAvailable(`${store.label} sessions`, store.unavailable, () => undefined);
}

describe.each(KINDS)('%s sessions (spec §5.6)', (_kind, options) => {
  const opened: SessionManager[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((manager) => manager.close()));
  });
  const setup = (extra: Record<string, unknown> = {}, clock = new ManualClock()) => {
    const made = countingManager({ ...options, ...extra }, clock);
    opened.push(made.manager);
    return made;
  };

  it('saves and loads non-ASCII values (cases 76-79)', async () => {
    const { manager } = setup();
    const first = await request<Data>(manager, undefined, async (session) => {
      await session.set('a', 'Español');
      await session.set('b', '日本語');
      await session.set('c', 'Ελληνικά');
      await session.save();
    });
    const cookie = cookieFrom(first.setCookies);
    expect(cookie).toBeDefined();
    const second = await request<Data>(manager, cookie, async (session) => {
      expect(await session.all()).toEqual({ a: 'Español', b: '日本語', c: 'Ελληνικά' });
      expect(session.id).toBe(first.session.id);
      expect(session.isNew).toBe(false);
    });
    expect(second.session.accessed).toBe(true);
  });

  // Without encryption a server-side session does not depend on a key: the check applies to the others.
  it.runIf(options.type === 'cookie' || options.encrypt_key !== undefined)(
    'starts empty when the keys changed, with invalidate_corrupt (case 80)',
    async () => {
      const isCookie = options.type === 'cookie';
      const { manager, store } = setup();
      const first = await savedSession<Data>(manager, { foo: 'bar' });
      const otherKeys = new SessionManager({
        ...options,
        ...(isCookie ? { validate_key: `${VALIDATE_KEY}-other` } : {}),
        ...(options.encrypt_key === undefined ? {} : { encrypt_key: `${ENCRYPT_KEY}-other` }),
        secret: SECRET,
        ...(isCookie || options.type !== undefined
          ? {}
          : { type: 'counting', backends: { counting: () => store } }),
        onEvent: () => undefined,
      });
      const { session } = await request<Data>(otherKeys, cookieFrom(first.setCookies), async (s) => {
        await s.load();
      });
      expect(await session.get('foo')).toBeUndefined();
      expect(session.isNew).toBe(true);
    },
  );

  it('deletes (case 81), reverts (case 82) and invalidates (case 83)', async () => {
    const { manager } = setup();
    const saved = await request<Data>(manager, undefined, async (session) => {
      await session.set('a', '1');
      await session.set('b', '2');
      await session.set('c', '3');
      await session.save();
    });
    const cookie = cookieFrom(saved.setCookies);
    await request<Data>(manager, cookie, async (session) => {
      await session.unset('a');
      await session.set('b', 'changed');
      await session.set('d', 'added');
      await session.revert();
      expect(await session.all()).toEqual({ a: '1', b: '2', c: '3' });
    });
    const invalidated = await request<Data>(manager, cookie, async (session) => {
      await session.load();
      const [id, created] = [session.id, session.created];
      await session.invalidate();
      await session.set('d', 'after');
      await session.save();
      expect(session.id).not.toBe(id);
      expect(session.created.getTime()).toBeGreaterThanOrEqual(created.getTime());
      expect(await session.all()).toEqual({ d: 'after' });
    });
    const deleted = await request<Data>(manager, cookieFrom(invalidated.setCookies), async (session) => {
      expect(await session.get('d')).toBe('after');
      await session.delete();
      expect(await session.all()).toEqual({});
    });
    expect(deleted.setCookies[0]).toMatch(/Expires=Thu, 01 Jan 1970 00:00:00 GMT/);
  });

  it('expires after the idle timeout (case 84)', async () => {
    const clock = new ManualClock();
    const { manager } = setup({ timeout: 2 }, clock);
    const saved = await savedSession<Data>(manager, { foo: 'bar' });
    const cookie = cookieFrom(saved.setCookies);
    clock.advance(1);
    const kept = await request<Data>(manager, cookie, async (session) => {
      expect(await session.get('foo')).toBe('bar');
      expect(session.id).toBe(saved.session.id);
    });
    clock.advance(3);
    await request<Data>(manager, cookieFrom(kept.setCookies, cookie), async (session) => {
      expect(await session.get('foo')).toBeUndefined();
      expect(session.id).not.toBe(saved.session.id);
      expect(session.isNew).toBe(true);
    });
  });

  it('regenerates the id and keeps the data (case 85); the old id is gone', async () => {
    const { manager } = setup();
    const saved = await savedSession<Data>(manager, { foo: 'bar' });
    const oldCookie = cookieFrom(saved.setCookies);
    const regenerated = await request<Data>(manager, oldCookie, async (session) => {
      await session.regenerateId();
    });
    expect(regenerated.session.id).not.toBe(saved.session.id);
    expect(regenerated.setCookies).toHaveLength(1);
    await request<Data>(manager, cookieFrom(regenerated.setCookies), async (session) => {
      expect(await session.get('foo')).toBe('bar');
    });
    if (options.type !== 'cookie') {
      await request<Data>(manager, oldCookie, async (session) => {
        expect(await session.get('foo')).toBeUndefined();
        expect(session.id).not.toBe(saved.session.id);
      });
    }
  });

  // A request that loaded the session before another request removed it must not bring it back: neither its save nor
  // the access-time write that `timeout` needs (cookie sessions have no record to remove).
  it
    .runIf(options.type !== 'cookie')
    .each(
      ['invalidate', 'delete', 'regenerateId'].flatMap((removal) =>
        ['late save', 'late touch'].map((late) => ({ removal, late })),
      ),
    )(
    'keeps a session removed by $removal against a $late of a request already in flight',
    async ({ removal, late }) => {
      const clock = new ManualClock();
      const { manager } = setup({ timeout: 1800, touch_interval: 1 }, clock);
      const saved = await savedSession<Data>(manager, { user: 'ada' });
      const stolen = cookieFrom(saved.setCookies);
      clock.advance(2);
      const inFlight = manager.session<Data>(stolen);
      expect(await inFlight.get('user')).toBe('ada');
      const removed = await request<Data>(manager, stolen, async (session) => {
        await session.load();
        if (removal === 'invalidate') await session.invalidate();
        else if (removal === 'delete') await session.delete();
        else await session.regenerateId();
      });
      if (late === 'late save') {
        await inFlight.set('value', 1);
        await inFlight.save();
      }
      await inFlight.persist();
      expect(inFlight.setCookieHeaders()).toEqual([]);
      await request<Data>(manager, stolen, async (session) => {
        expect(await session.get('user')).toBeUndefined();
        expect(session.isNew).toBe(true);
        expect(session.id).not.toBe(saved.session.id);
      });
      // The regenerated session lives on, under its new id only, untouched by the late request.
      if (removal === 'regenerateId') {
        await request<Data>(manager, cookieFrom(removed.setCookies), async (session) => {
          expect(await session.all()).toEqual({ user: 'ada' });
        });
      }
    },
  );

  // lock() read the session before taking the lock and never again: 20 locked increments left the counter at 1.
  it.runIf(options.type !== 'cookie')(
    'makes read-modify-write between lock() and unlock() safe: 20 concurrent locked increments count 20',
    async () => {
      const { manager } = setup();
      const cookie = cookieFrom((await savedSession<Data>(manager, { value: 0 })).setCookies);
      await Promise.all(
        Array.from({ length: 20 }, () =>
          request<Data>(manager, cookie, async (session) => {
            await session.load();
            await session.lock();
            await session.set('value', ((await session.get('value')) ?? 0) + 1);
            await session.save();
            await session.unlock();
          }),
        ),
      );
      await request<Data>(manager, cookie, async (session) => {
        expect(await session.get('value')).toBe(20);
      });
    },
  );

  it('sends nothing for a session the request never uses, and nothing for an unsaved new one (case 118)', async () => {
    const { manager } = setup();
    expect((await request(manager, undefined, async () => undefined)).setCookies).toEqual([]);
    expect(
      (
        await request<Data>(manager, undefined, async (session) => {
          await session.set('value', 1);
        })
      ).setCookies,
    ).toEqual([]);
  });

  it('saves without save() when auto is on (case 103, 136)', async () => {
    const { manager } = setup({ auto: true });
    const first = await request<Data>(manager, undefined, async (session) => {
      await session.set('value', 1);
    });
    await request<Data>(manager, cookieFrom(first.setCookies), async (session) => {
      expect(await session.get('value')).toBe(1);
    });
  });

  it('tells a tampered cookie from a valid one: a fresh session, never an error (cases 94-95)', async () => {
    const { manager } = setup();
    const saved = await savedSession<Data>(manager, { foo: 'bar' });
    const cookie = cookieFrom(saved.setCookies) ?? '';
    const [name, value = ''] = cookie.split('=');
    const tampered = `${name}=${value.slice(0, 5)}${value[5] === 'a' ? 'b' : 'a'}${value.slice(6)}`;
    const { session } = await request<Data>(manager, tampered, async (s) => {
      expect(await s.get('foo')).toBeUndefined();
    });
    expect(session.isNew).toBe(true);
  });

  // A client's garbage is not stored data gone bad: with invalidate_corrupt off it gave every such request a 500.
  it.runIf(options.type === 'cookie')(
    'answers a tampered cookie with a new session even when invalidate_corrupt is off, and reports it',
    async () => {
      const events: string[] = [];
      const { manager } = setup({
        invalidate_corrupt: false,
        onEvent: (event: SessionEvent) => events.push(event.type),
      });
      const saved = await savedSession<Data>(manager, { foo: 'bar' });
      const cookie = (cookieFrom(saved.setCookies) ?? '').replace(
        /=(.)(.)/,
        (_m, a: string, b: string) => `=${b}${a === b ? (a === 'x' ? 'y' : 'x') : a}`,
      );
      const session = await manager.session<Data>(cookie).load();
      expect(session.isNew).toBe(true);
      expect(events).toEqual(['corrupt-session']);
    },
  );

  it.runIf(
    options.type === 'cookie' && options.crypto_type !== undefined && options.encrypt_key === undefined,
  )(
    'raises a typed error for an authentic cookie whose data cannot be read when invalidate_corrupt is off',
    async () => {
      const { manager } = setup({ invalidate_corrupt: false });
      const cookie = `beaker.session.id=${beakerSign(VALIDATE_KEY, 'bm90IHpsaWI=')}`;
      await expect(manager.session(cookie).load()).rejects.toThrow(SessionCorruptError);
    },
  );

  it('ignores unrelated and empty cookies (cases 92-93, 111)', async () => {
    const { manager } = setup();
    const saved = await savedSession<Data>(manager, { foo: 'bar' });
    const cookie = `cb_/zabbix/actionconf.php_parts=x; other=1; ${cookieFrom(saved.setCookies) ?? ''}; trailing`;
    await request<Data>(manager, cookie, async (session) => {
      expect(await session.get('foo')).toBe('bar');
    });
    await request<Data>(manager, 'beaker.session.id=', async (session) => {
      expect(await session.get('foo')).toBeUndefined();
    });
  });

  it('uses the right cookie among duplicates', async () => {
    const { manager } = setup();
    const saved = await savedSession<Data>(manager, { foo: 'bar' });
    const good = cookieFrom(saved.setCookies) ?? '';
    await request<Data>(manager, `beaker.session.id=garbage; ${good}`, async (session) => {
      expect(await session.get('foo')).toBe('bar');
    });
  });
});

describe('server-side sessions: store operations per request', () => {
  it('costs 0 operations untouched, 1 read to read, 1 write for a new session', async () => {
    const { manager, store } = countingManager();
    await request(manager, undefined, async () => undefined);
    expect(store.counts()).toEqual({ reads: 0, writes: 0, deletes: 0 });
    const created = await savedSession<Data>(manager, { value: 1 });
    expect(store.counts()).toEqual({ reads: 0, writes: 1, deletes: 0 });
    const cookie = cookieFrom(created.setCookies);
    store.reset();
    const read = await request<Data>(manager, cookie, async (session) => {
      expect(await session.get('value')).toBe(1);
    });
    expect(store.counts()).toEqual({ reads: 1, writes: 0, deletes: 0 });
    expect(read.setCookies).toEqual([]);
    store.reset();
    await request<Data>(manager, cookie, async (session) => {
      await session.set('value', 2);
      await session.save();
    });
    // One read to load, one read under the lock to merge with a parallel save, one write.
    expect(store.counts()).toEqual({ reads: 2, writes: 1, deletes: 0 });
  });

  it('with a timeout, records the access at most once per touch_interval', async () => {
    const { manager, store, clock } = countingManager({ timeout: 600, touch_interval: 60 });
    const cookie = cookieFrom((await savedSession<Data>(manager, { value: 1 })).setCookies);
    store.reset();
    for (let step = 0; step < 10; step += 1) {
      clock.advance(10);
      await request<Data>(manager, cookie, async (session) => {
        await session.get('value');
      });
    }
    // 10 reads over 100 s: one touch (read + write) once 60 s had passed since the last write.
    expect(store.counts()).toEqual({ reads: 11, writes: 1, deletes: 0 });
  });
});

describe('server-side sessions: safety', () => {
  it('never adopts an id the store does not know, even correctly signed', async () => {
    const { manager, store } = countingManager();
    const created = await savedSession<Data>(manager, { value: 1 });
    const cookie = cookieFrom(created.setCookies);
    await store.clear('beaker.session');
    const { session } = await request<Data>(manager, cookie, async (s) => {
      await s.load();
    });
    expect(session.id).not.toBe(created.session.id);
    expect(session.isNew).toBe(true);
    const unsigned = await request<Data>(
      manager,
      'beaker.session.id=0123456789abcdef0123456789abcdef',
      async (s) => {
        await s.set('value', 2);
        await s.save();
      },
    );
    expect(unsigned.session.id).not.toBe('0123456789abcdef0123456789abcdef');
  });

  it('validates ids before they reach the store', async () => {
    const { manager, store } = countingManager({ secret: null, allow_short_keys: false });
    await request(manager, 'beaker.session.id=../../../etc/passwd', async (session) => {
      await session.load();
    });
    expect(store.reads).toBe(0);
  });

  it('keeps both changes of two parallel requests on one session', async () => {
    const { manager } = countingManager();
    const cookie = cookieFrom((await savedSession<Data>(manager, { a: 'start' })).setCookies);
    const first = manager.session<Data>(cookie);
    const second = manager.session<Data>(cookie);
    await Promise.all([first.load(), second.load()]);
    await first.set('b', 'from first');
    await second.set('c', 'from second');
    await Promise.all([first.save(), second.save()]);
    await request<Data>(manager, cookie, async (session) => {
      expect(await session.all()).toEqual({ a: 'start', b: 'from first', c: 'from second' });
    });
  });

  it('re-signs a cookie signed with an older secret', async () => {
    const old = countingManager({ secret: SECRET });
    const cookie = cookieFrom((await savedSession<Data>(old.manager, { foo: 'bar' })).setCookies);
    const rotated = new SessionManager({
      type: 'shared',
      secret: [`${SECRET}-new`, SECRET],
      backends: { shared: () => old.store },
      onEvent: () => undefined,
    });
    const { setCookies, session } = await request<Data>(rotated, cookie, async (s) => {
      expect(await s.get('foo')).toBe('bar');
    });
    expect(setCookies).toHaveLength(1);
    expect(cookieFrom(setCookies)).not.toBe(cookie);
    expect(session.isNew).toBe(false);
  });

  it('turns a store failure into a SessionStoreError', async () => {
    const { manager, store } = countingManager();
    store.failing = true;
    await expect(manager.session('beaker.session.id=x').load()).resolves.toBeDefined();
    await expect(
      request<Data>(manager, undefined, async (session) => {
        await session.set('value', 1);
        await session.save();
      }),
    ).rejects.toThrow(SessionStoreError);
  });

  it('slides a cookie_expires duration: the cookie is re-sent when half its life is gone', async () => {
    const { manager, clock } = countingManager({ cookie_expires: 1000 });
    const created = await savedSession<Data>(manager, { value: 1 });
    expect(created.setCookies[0]).toMatch(/Expires=Tue, 01 Jan 2030 00:16:40 GMT/);
    const cookie = cookieFrom(created.setCookies);
    clock.advance(100);
    expect(
      (
        await request(manager, cookie, async (s) => {
          await s.load();
        })
      ).setCookies,
    ).toEqual([]);
    clock.advance(450);
    const refreshed = await request(manager, cookie, async (s) => {
      await s.load();
    });
    expect(refreshed.setCookies[0]).toMatch(/Expires=Tue, 01 Jan 2030 00:25:50 GMT/);
  });

  it('has secure cookie defaults: HttpOnly, SameSite=Lax, Path=/', async () => {
    const { manager } = countingManager();
    const { setCookies } = await savedSession<Data>(manager, { value: 1 });
    expect(setCookies[0]).toMatch(
      /^beaker\.session\.id=[0-9a-f]{32}\.[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax$/,
    );
  });

  it('refuses short keys unless allowed', () => {
    expect(() => new SessionManager({ secret: 'short' })).toThrow(ConfigError);
    expect(() => new SessionManager({ type: 'cookie', validate_key: 'hoobermas' })).toThrow(
      /shorter than 32 bytes/,
    );
    expect(
      () => new SessionManager({ type: 'cookie', validate_key: 'hoobermas', allow_short_keys: true }),
    ).not.toThrow();
    expect(() => new SessionManager({ type: 'cookie' })).toThrow(
      'No validate_key specified for Cookie only Session.',
    );
  });

  // Length alone let 'a' × 32 through: a long key of a few repeated characters is as guessable as a short one.
  it.each(['a'.repeat(32), 'ab'.repeat(20), '0123'.repeat(10)])(
    'refuses a long key made of a few repeated characters (%s) unless allowed',
    (key) => {
      expect(() => new SessionManager({ secret: key })).toThrow(/secret repeats \d character\(s\) only/);
      expect(() => new SessionManager({ secret: key, allow_short_keys: true })).not.toThrow();
    },
  );

  it('says to load first when used synchronously before loading', () => {
    const { manager } = countingManager();
    expect(() => manager.session(undefined).id).toThrow(SessionNotLoadedError);
  });

  it('finds a stored session by id, and nothing for an unknown one (case 141)', async () => {
    const { manager } = countingManager();
    const { session } = await request<Data>(manager, undefined, async (s) => {
      await s.set('value', 3);
      await s.save();
    });
    expect(await (await manager.getById<Data>(session.id))?.get('value')).toBe(3);
    expect(await manager.getById('0123456789abcdef0123456789abcdef')).toBeUndefined();
  });
});

describe('cookie sessions: size', () => {
  it('refuses, when saving, a session whose Set-Cookie header would pass 4096 bytes', async () => {
    const manager = new SessionManager({ type: 'cookie', validate_key: VALIDATE_KEY });
    const session = manager.session<{ big: string }>(undefined);
    await session.set('big', 'x'.repeat(3000));
    await expect(session.save()).rejects.toThrow(SessionCookieTooLargeError);
  });
});

describe('more session options', () => {
  it('stores data through a custom data_serializer (case 115)', async () => {
    const calls: string[] = [];
    const serializer = {
      dumps: (value: unknown) => {
        calls.push('dumps');
        return JSON.stringify(value);
      },
      loads: (data: string | Uint8Array) => {
        calls.push('loads');
        return JSON.parse(String(data)) as unknown;
      },
    };
    const { manager } = countingManager({ data_serializer: serializer });
    const saved = await savedSession<Data>(manager, { value: 2 });
    await request<Data>(manager, cookieFrom(saved.setCookies), async (session) => {
      expect(await session.get('value')).toBe(2);
    });
    expect(calls).toEqual(['dumps', 'loads']);
  });

  it('sends and reads no cookie with use_cookies = false (case 88)', async () => {
    const { manager } = countingManager({ use_cookies: false });
    const saved = await savedSession<Data>(manager, { value: 1 });
    expect(saved.setCookies).toEqual([]);
    expect(await (await manager.getById<Data>(saved.session.id))?.get('value')).toBe(1);
  });

  it('does not record the access time when save_accessed_time is false', async () => {
    const { manager, store, clock } = countingManager({ save_accessed_time: false });
    const cookie = cookieFrom((await savedSession<Data>(manager, { value: 1 })).setCookies);
    store.reset();
    clock.advance(3600);
    await request<Data>(manager, cookie, async (session) => {
      await session.get('value');
    });
    expect(store.counts()).toEqual({ reads: 1, writes: 0, deletes: 0 });
  });

  it('refuses a corrupt stored session with a typed error when invalidate_corrupt is off', async () => {
    const { manager, store } = countingManager({ invalidate_corrupt: false });
    const saved = await savedSession<Data>(manager, { value: 1 });
    await store.set('beaker.session', hashedSessionKey(saved.session.id), 'crap');
    await expect(manager.session(cookieFrom(saved.setCookies)).load()).rejects.toThrow(SessionCorruptError);
  });
});

describe('cookie sessions: any change fails', () => {
  it.each([
    ['a trailing "="', (value: string) => `${value}=`],
    ['a "!" in the middle', (value: string) => `${value.slice(0, 20)}!${value.slice(20)}`],
    ['a space inside', (value: string) => `${value.slice(0, 20)} ${value.slice(20)}`],
  ])('refuses a sealed cookie with %s, though it decodes to the same bytes', async (_change, change) => {
    const manager = new SessionManager({
      type: 'cookie',
      validate_key: VALIDATE_KEY,
      onEvent: () => undefined,
    });
    const saved = await savedSession<Data>(manager, { user: 'ada' });
    const [name = '', value = ''] = (cookieFrom(saved.setCookies) ?? '').split(/=(.*)/s);
    await request<Data>(manager, `${name}=${value}`, async (session) => {
      expect(await session.get('user')).toBe('ada');
    });
    const { session } = await request<Data>(manager, `${name}=${change(value)}`, async (s) => {
      expect(await s.get('user')).toBeUndefined();
    });
    expect(session.isNew).toBe(true);
  });
});

// Rotating keys must not log everyone out: a cookie made with the previous keys still opens (and is sealed anew).
describe.each(['cryptography', 'pycrypto'])(
  'cookie sessions in Beaker format (%s): key rotation',
  (cryptoType) => {
    const OLD = { validate_key: `${VALIDATE_KEY}-old`, encrypt_key: `${ENCRYPT_KEY}-old` };
    const make = (validateKeys: string[], encryptKeys: string[]): SessionManager =>
      new SessionManager({
        type: 'cookie',
        crypto_type: cryptoType as 'cryptography' | 'pycrypto',
        validate_key: validateKeys,
        encrypt_key: encryptKeys,
        onEvent: () => undefined,
      });

    it.each([
      ['both keys', [VALIDATE_KEY, OLD.validate_key], [ENCRYPT_KEY, OLD.encrypt_key]],
      ['the encrypt key only', [OLD.validate_key], [ENCRYPT_KEY, OLD.encrypt_key]],
      ['the validate key only', [VALIDATE_KEY, OLD.validate_key], [OLD.encrypt_key]],
    ])(
      'opens a cookie made before rotating %s, and re-seals it with the new keys',
      async (_rotated, validate, encrypt) => {
        const before = make([OLD.validate_key], [OLD.encrypt_key]);
        const cookie = cookieFrom((await savedSession<Data>(before, { user: 'ada' })).setCookies);
        const after = make(validate, encrypt);
        const read = await request<Data>(after, cookie, async (session) => {
          expect(await session.get('user')).toBe('ada');
        });
        expect(read.setCookies).toHaveLength(1);
        await request<Data>(
          make([validate[0] ?? ''], [encrypt[0] ?? '']),
          cookieFrom(read.setCookies),
          async (session) => {
            expect(await session.get('user')).toBe('ada');
          },
        );
      },
    );
  },
);

// Another site of the domain can plant cookies of the same name before the real one (cookie tossing), or pad the
// header: neither may hide the real session (four planted values, or 16 kB before it, did).
describe.each<[string, SessionManagerOptions]>([
  ['server-side', { secret: SECRET }],
  ['cookie', { type: 'cookie', validate_key: VALIDATE_KEY }],
])('%s sessions: cookies planted before the real one', (_kind, options) => {
  it.each([
    [
      '10 forged values of the same name',
      (real: string) => `${'beaker.session.id=forged; '.repeat(10)}${real}`,
    ],
    [
      '10 well-formed but unsigned ids',
      (real: string) =>
        `${Array.from({ length: 10 }, (_, index) => `beaker.session.id=${index.toString(16).padStart(32, 'a')}`).join('; ')}; ${real}`,
    ],
    ['16 kB of other cookies', (real: string) => `padding=${'p'.repeat(16_500)}; ${real}`],
  ])('finds the real session behind %s', async (_planted, plant) => {
    const { manager } = countingManager(options);
    const real = cookieFrom((await savedSession<Data>(manager, { user: 'ada' })).setCookies) ?? '';
    await request<Data>(manager, plant(real), async (session) => {
      expect(await session.get('user')).toBe('ada');
    });
  });

  it.runIf(options.type === undefined)(
    "reads the store for at most 4 of a request's cookie values",
    async () => {
      const { manager, store } = countingManager(options);
      const others = await Promise.all(
        Array.from(
          { length: 6 },
          async () => cookieFrom((await savedSession<Data>(manager, {})).setCookies) ?? '',
        ),
      );
      // Signed, well-formed, but no longer stored: each one tried costs a read.
      await store.clear('beaker.session');
      store.reset();
      await request<Data>(manager, others.join('; '), async (session) => {
        await session.load();
      });
      expect(store.counts().reads).toBe(4);
    },
  );
});
