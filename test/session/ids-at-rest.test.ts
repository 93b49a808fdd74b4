/**
 * Session ids hashed at rest: the store (and its lock names) hold the SHA-256 of each id, never the id, so a copy of
 * the store holds no cookie anyone can present. `hash_ids = false` keys by the raw id (a store shared with Python
 * Beaker), warned about once; `migrate_raw_ids` moves records stored under raw ids to their hashed keys.
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError, SessionManager, parseSessionConfigOptions } from '../../src/index.js';
import { hashedSessionKey } from '../../src/session/store-keys.js';
import { SECRET, cookieFrom, countingManager, request, savedSession } from './helpers.js';

/** Every file under `dir`, with its text. */
function filesUnder(dir: string): { path: string; text: string }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return { path, text: readFileSync(path, 'latin1') };
    });
}

describe('session ids at rest', () => {
  it('stores a session under the digest of its id, by default', async () => {
    const { manager, store } = countingManager();
    const { session } = await savedSession<{ user: string }>(manager, { user: 'ada' });
    const keys = await store.keys('beaker.session');
    expect(keys).toEqual([hashedSessionKey(session.id)]);
    expect(keys[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(keys).not.toContain(session.id);
  });

  it('leaves no session id in the files of a file store, its locks included', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'beaker-ids-at-rest-'));
    const manager = new SessionManager({ type: 'file', data_dir: dataDir, secret: SECRET });
    const ids: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      const { session, setCookies } = await savedSession<{ n: number }>(manager, { n: index });
      ids.push(session.id);
      // A locked critical section leaves its lock files behind while it runs.
      const again = manager.session<{ n: number }>(cookieFrom(setCookies));
      await again.lock();
      const whileLocked = filesUnder(dataDir);
      await again.unlock();
      for (const { path, text } of [...whileLocked, ...filesUnder(dataDir)]) {
        expect(path).not.toContain(session.id);
        expect(text).not.toContain(session.id);
      }
    }
    // The sessions still load from their cookies: only the store's copy is hashed.
    const files = filesUnder(dataDir);
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const id of ids) for (const { text } of files) expect(text).not.toContain(id);
    await manager.close();
  });

  it('finds the session from its cookie and by getById', async () => {
    const { manager } = countingManager();
    const first = await savedSession<{ user: string }>(manager, { user: 'ada' });
    await request<{ user: string }>(manager, cookieFrom(first.setCookies), async (session) => {
      expect(await session.get('user')).toBe('ada');
    });
    const byId = await manager.getById<{ user: string }>(first.session.id);
    expect(byId?.data.user).toBe('ada');
    // The digest itself is no id: presented as one, it finds nothing.
    expect(await manager.getById(hashedSessionKey(first.session.id))).toBeUndefined();
  });

  it('keys records by the raw id with hash_ids = false, warning once', async () => {
    const warning = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const { manager, store } = countingManager({ hash_ids: false });
      const { session } = await savedSession<{ user: string }>(manager, { user: 'ada' });
      expect(await store.keys('beaker.session')).toEqual([session.id]);
      countingManager({ hash_ids: false });
      const raw = warning.mock.calls.filter(([, options]) => options?.code === 'BEAKER_RAW_SESSION_IDS');
      expect(raw).toHaveLength(1);
    } finally {
      warning.mockRestore();
    }
  });

  it('moves a record stored under its raw id to its hashed key with migrate_raw_ids', async () => {
    const raw = countingManager({ hash_ids: false });
    const { session, setCookies } = await savedSession<{ user: string }>(raw.manager, { user: 'ada' });
    const cookie = cookieFrom(setCookies);
    const store = raw.store;
    const migrating = new SessionManager({
      type: 'counting',
      secret: SECRET,
      migrate_raw_ids: true,
      backends: { counting: () => store },
      onEvent: () => undefined,
    });
    await request<{ user: string }>(migrating, cookie, async (loaded) => {
      await loaded.load();
      expect(loaded.isNew).toBe(false);
      expect(await loaded.get('user')).toBe('ada');
    });
    expect(await store.keys('beaker.session')).toEqual([hashedSessionKey(session.id)]);
    // Moved once: the next request reads the hashed key only.
    store.reset();
    await request<{ user: string }>(migrating, cookie, async (loaded) => {
      expect(await loaded.get('user')).toBe('ada');
    });
    expect(store.counts()).toEqual({ reads: 1, writes: 0, deletes: 0 });
  });

  it('does not look for raw ids unless asked: such a record is then not found', async () => {
    const raw = countingManager({ hash_ids: false });
    const { setCookies } = await savedSession<{ user: string }>(raw.manager, { user: 'ada' });
    const store = raw.store;
    const hashing = new SessionManager({
      type: 'counting',
      secret: SECRET,
      backends: { counting: () => store },
      onEvent: () => undefined,
    });
    await request<{ user: string }>(hashing, cookieFrom(setCookies), async (loaded) => {
      await loaded.load();
      expect(loaded.isNew).toBe(true);
    });
  });

  it('reads hash_ids and migrate_raw_ids from a flat configuration, refusing a value that is not a boolean', () => {
    expect(
      parseSessionConfigOptions({
        'beaker.session.hash_ids': 'false',
        'beaker.session.migrate_raw_ids': 'true',
      }),
    ).toMatchObject({ hash_ids: false, migrate_raw_ids: true });
    expect(() => parseSessionConfigOptions({ 'beaker.session.hash_ids': 'sometimes' })).toThrow(ConfigError);
    expect(() => parseSessionConfigOptions({ 'beaker.session.hash_ids': 'sometimes' })).toThrow(/hash_ids/);
  });
});
