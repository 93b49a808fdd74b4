/**
 * What a read-only request costs, pinned: a store in this process that has `peek` (and a cookie session) is read at
 * once, every read still counted; the snapshot for `revert` is taken at the first change; data read without a copy
 * still has only its own keys; the node:http adapter ends a read-only response at once, cookies included.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { attachSession } from '../../src/adapters/node-http.js';
import type { ObjectBackend } from '../../src/backends/index.js';
import {
  SessionManager,
  SessionStoreError,
  type SessionEvent,
  type SessionManagerOptions,
} from '../../src/session/index.js';
import {
  CountingBackend,
  ManualClock,
  SECRET,
  VALIDATE_KEY,
  cookieFrom,
  countingManager,
  request,
  savedSession,
} from './helpers.js';

type Data = { value?: number; a?: string; b?: string; c?: string };

describe('a read-only request through a store that has peek', () => {
  it('loads at once and makes exactly one counted read, no write', async () => {
    const { manager, store } = countingManager();
    const cookie = cookieFrom((await savedSession<Data>(manager, { value: 1 })).setCookies);
    store.reset();
    const session = manager.session<Data>(cookie);
    const value = session.get('value');
    // Loaded before anything was awaited: no promise layer between the request and the store.
    expect(session.accessed).toBe(true);
    expect(await value).toBe(1);
    await session.persist();
    expect(session.setCookieHeaders()).toEqual([]);
    expect(store.counts()).toEqual({ reads: 1, writes: 0, deletes: 0 });
  });

  it('counts every read of a session across requests, by either path', async () => {
    const { manager, store } = countingManager();
    const cookie = cookieFrom((await savedSession<Data>(manager, { value: 1 })).setCookies);
    store.reset();
    for (let index = 0; index < 5; index += 1) {
      await request<Data>(manager, cookie, async (session) => {
        expect(await session.get('value')).toBe(1);
      });
    }
    await request<Data>(manager, cookie, async (session) => {
      await session.set('value', 2);
      await session.save();
    });
    // Five reads; then one read to load and one under the lock to merge, and the write.
    expect(store.counts()).toEqual({ reads: 7, writes: 1, deletes: 0 });
  });

  it('removes an expired record (one read, one delete) and starts a new session', async () => {
    const { manager, store, clock } = countingManager({ timeout: 60 });
    const cookie = cookieFrom((await savedSession<Data>(manager, { value: 1 })).setCookies);
    store.reset();
    clock.advance(120);
    const { session, setCookies } = await request<Data>(manager, cookie, async (s) => {
      expect(await s.get('value')).toBeUndefined();
    });
    expect(session.isNew).toBe(true);
    expect(setCookies).toEqual([]);
    expect(store.counts()).toEqual({ reads: 1, writes: 0, deletes: 1 });
  });

  it('fails the request with a SessionStoreError, reported without the detail, when peek throws', async () => {
    const events: SessionEvent[] = [];
    const { manager, store } = countingManager({ onEvent: (event) => events.push(event) });
    const cookie = cookieFrom((await savedSession<Data>(manager, { value: 1 })).setCookies);
    store.failing = true;
    const session = manager.session<Data>(cookie);
    await expect(session.get('value')).rejects.toBeInstanceOf(SessionStoreError);
    // The load failed once and stays failed for this request, as before.
    await expect(session.load()).rejects.toBeInstanceOf(SessionStoreError);
    expect(events.map((event) => event.type)).toEqual(['store-error']);
    expect(events[0]?.message).not.toContain('hunter2');
  });

  it('applies a key rotation at once: a cookie signed with the older secret is re-signed', async () => {
    const clock = new ManualClock();
    const store = new CountingBackend({}, { clock: clock.read });
    const options = (secret: string | string[]): SessionManagerOptions => ({
      type: 'counting',
      secret,
      backends: { counting: () => store },
      clock: clock.read,
      onEvent: () => undefined,
    });
    const old = new SessionManager(options(SECRET));
    const cookie = cookieFrom((await savedSession<Data>(old, { value: 1 })).setCookies);
    const rotated = new SessionManager(options([`new-${SECRET}`, SECRET]));
    await rotated.ready();
    store.reset();
    const { setCookies } = await request<Data>(rotated, cookie, async (session) => {
      expect(await session.get('value')).toBe(1);
    });
    expect(setCookies).toHaveLength(1);
    expect(cookieFrom(setCookies)).not.toBe(cookie);
    expect(store.counts()).toEqual({ reads: 1, writes: 0, deletes: 0 });
  });
});

describe('a store without peek', () => {
  it('is read through get: one counted read, the load waiting on it', async () => {
    const clock = new ManualClock();
    const store = new CountingBackend({}, { clock: clock.read });
    // Only the asynchronous contract: no peek.
    const withoutPeek: ObjectBackend = {
      type: 'memory',
      format: 'object',
      capabilities: store.capabilities,
      get: (namespace, key) => store.get(namespace, key),
      set: (namespace, key, data, options) => store.set(namespace, key, data as string, options),
      delete: (namespace, key) => store.delete(namespace, key),
      keys: (namespace) => store.keys(namespace),
      clear: (namespace) => store.clear(namespace),
      close: () => store.close(),
    };
    const manager = new SessionManager({
      type: 'plain',
      secret: SECRET,
      backends: { plain: () => withoutPeek },
      clock: clock.read,
      onEvent: () => undefined,
    });
    const cookie = cookieFrom((await savedSession<Data>(manager, { value: 1 })).setCookies);
    store.reset();
    const session = manager.session<Data>(cookie);
    const value = session.get('value');
    expect(session.accessed).toBe(false);
    expect(await value).toBe(1);
    await session.persist();
    expect(store.counts()).toEqual({ reads: 1, writes: 0, deletes: 0 });
  });
});

describe('a cookie session read', () => {
  it('loads at once and sends no cookie', async () => {
    const manager = new SessionManager({
      type: 'cookie',
      validate_key: VALIDATE_KEY,
      onEvent: () => undefined,
    });
    const cookie = cookieFrom((await savedSession<Data>(manager, { value: 1 })).setCookies);
    const session = manager.session<Data>(cookie);
    const value = session.get('value');
    expect(session.accessed).toBe(true);
    expect(await value).toBe(1);
    await session.persist();
    expect(session.setCookieHeaders()).toEqual([]);
  });
});

describe.each([
  ['server-side', (): SessionManager => countingManager().manager],
  [
    'cookie',
    (): SessionManager =>
      new SessionManager({ type: 'cookie', validate_key: VALIDATE_KEY, onEvent: () => undefined }),
  ],
])('%s data read without a copy', (_kind, makeManager) => {
  it('keeps the data object across changes and reverts to the data as loaded', async () => {
    const manager = makeManager();
    const cookie = cookieFrom((await savedSession<Data>(manager, { a: '1', b: '2' })).setCookies);
    await request<Data>(manager, cookie, async (session) => {
      const loaded = (await session.load()).data;
      await session.set('a', 'changed');
      await session.unset('b');
      await session.set('c', 'added');
      expect(session.data).toBe(loaded);
      expect({ ...session.data }).toEqual({ a: 'changed', c: 'added' });
      await session.revert();
      expect(await session.all()).toEqual({ a: '1', b: '2' });
      await session.set('c', 'again');
      await session.revert();
      expect(await session.all()).toEqual({ a: '1', b: '2' });
    });
  });

  it('has only its own keys: __proto__ is a plain key, nothing is inherited', async () => {
    const manager = makeManager();
    const saved = await request<Record<string, unknown>>(manager, undefined, async (session) => {
      await session.set('__proto__', 'plain');
      await session.set('value', 1);
      await session.save();
    });
    const cookie = cookieFrom(saved.setCookies);
    await request<Record<string, unknown>>(manager, cookie, async (session) => {
      expect(await session.get('__proto__')).toBe('plain');
      expect(await session.get('toString')).toBeUndefined();
      expect(await session.get('constructor')).toBeUndefined();
      expect(await session.has('toString')).toBe(false);
      expect(await session.has('__proto__')).toBe(true);
      expect(Object.keys(await session.all()).sort()).toEqual(['__proto__', 'value']);
      expect(Object.getPrototypeOf(session.data)).toBeNull();
    });
    await request<Record<string, unknown>>(manager, cookie, async (session) => {
      await session.set('other', 2);
      expect(Object.getPrototypeOf(session.data)).toBeNull();
      expect(Object.hasOwn(Object.prototype, 'other')).toBe(false);
      expect(await session.get('__proto__')).toBe('plain');
    });
  });
});

describe('node:http, a read-only request', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  async function serve(manager: SessionManager, explicitWriteHead: boolean): Promise<string> {
    const server = createServer((req, res) => {
      const session = attachSession(req, res, manager);
      void (async () => {
        if (req.url === '/write') {
          await session.set('value', 1);
          await session.save();
        } else {
          await session.get('value');
        }
        if (explicitWriteHead) res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
      })();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it.each([false, true])(
    'ends with no Set-Cookie, one counted read (writeHead called explicitly: %s)',
    async (explicit) => {
      const { manager, store } = countingManager();
      const base = await serve(manager, explicit);
      const written = await fetch(`${base}/write`);
      expect(await written.text()).toBe('ok');
      const cookie = written.headers.getSetCookie()[0]?.split(';')[0] ?? '';
      store.reset();
      const read = await fetch(`${base}/read`, { headers: { cookie } });
      expect(await read.text()).toBe('ok');
      expect(read.headers.getSetCookie()).toEqual([]);
      expect(store.counts()).toEqual({ reads: 1, writes: 0, deletes: 0 });
    },
  );

  it.each([false, true])(
    'sends the re-signed cookie once after a key rotation (writeHead called explicitly: %s)',
    async (explicit) => {
      const clock = new ManualClock();
      const store = new CountingBackend({}, { clock: clock.read });
      const options = (secret: string | string[]): SessionManagerOptions => ({
        type: 'counting',
        secret,
        backends: { counting: () => store },
        clock: clock.read,
        onEvent: () => undefined,
      });
      const cookie = cookieFrom(
        (await savedSession<Data>(new SessionManager(options(SECRET)), { value: 1 })).setCookies,
      );
      const base = await serve(new SessionManager(options([`new-${SECRET}`, SECRET])), explicit);
      const read = await fetch(`${base}/read`, { headers: { cookie: cookie ?? '' } });
      expect(await read.text()).toBe('ok');
      const setCookies = read.headers.getSetCookie();
      expect(setCookies).toHaveLength(1);
      expect(setCookies[0]?.split(';')[0]).not.toBe(cookie);
    },
  );
});
