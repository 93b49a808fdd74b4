/**
 * A session too large: past `max_size` (1 MiB by default) its save fails with a SessionTooLargeError and stores
 * nothing; past a store's own limit (memcached's item size) with the store's ValueTooLargeError. Both are the
 * application's errors (a 500), never a SessionStoreError that the adapters answer with a 503 "store unavailable".
 */
import { describe, expect, it } from 'vitest';
import { SessionManager, SessionTooLargeError, ValueTooLargeError } from '../../src/index.js';
import { MEMCACHED_SERVERS, serverStores } from '../helpers/server-stores.js';
import { describeWhenAvailable } from '../helpers/services.js';
import { SECRET, cookieFrom, countingManager, request } from './helpers.js';

const unavailable = (await serverStores()).find(({ label }) => label === 'ext:memcached')?.unavailable;

describeWhenAvailable('a session over the store size limit', unavailable, () => {
  describe('on ext:memcached', () => {
    it('fails its save with a ValueTooLargeError, not as an outage', async () => {
      const events: string[] = [];
      const manager = new SessionManager({
        type: 'ext:memcached',
        url: MEMCACHED_SERVERS,
        secret: SECRET,
        // Past the session's own limit: what the store itself refuses.
        max_size: null,
        onEvent: (event) => events.push(event.type),
      });
      const session = manager.session<{ blob?: string }>(undefined);
      await session.set('blob', 'x'.repeat(2_000_000));
      await expect(session.save()).rejects.toBeInstanceOf(ValueTooLargeError);
      expect(events).not.toContain('store-error');
      await manager.close();
    });
  });
});

describe('max_size', () => {
  it('refuses to save a session larger than max_size, storing nothing, and keeps the earlier record', async () => {
    const { manager, store } = countingManager({ max_size: 10_000 });
    const first = await request<{ blob?: string }>(manager, undefined, async (session) => {
      await session.set('blob', 'small');
      await session.save();
    });
    const cookie = cookieFrom(first.setCookies);
    store.reset();
    // The end of the request tries the save again, and fails the same way.
    await expect(
      request<{ blob?: string }>(manager, cookie, async (session) => {
        await session.set('blob', 'x'.repeat(20_000));
        await expect(session.save()).rejects.toMatchObject({
          name: 'SessionTooLargeError',
          code: 'E_SESSION_TOO_LARGE',
          limit: 10_000,
        });
      }),
    ).rejects.toBeInstanceOf(SessionTooLargeError);
    expect(store.counts().writes).toBe(0);
    await request<{ blob?: string }>(manager, cookie, async (session) => {
      expect(await session.get('blob')).toBe('small');
    });
  });

  it('defaults to 1 MiB and can be turned off with null', async () => {
    const limited = countingManager().manager;
    const session = limited.session<{ blob?: string }>(undefined);
    await session.set('blob', 'x'.repeat(1_100_000));
    await expect(session.save()).rejects.toBeInstanceOf(SessionTooLargeError);
    const unlimited = countingManager({ max_size: null }).manager;
    const big = unlimited.session<{ blob?: string }>(undefined);
    await big.set('blob', 'x'.repeat(1_100_000));
    await big.save();
  });

  it('rejects a max_size below 1 when the configuration is read', () => {
    expect(() => countingManager({ max_size: 0 })).toThrow(/max_size must be at least 1 byte/);
  });
});
