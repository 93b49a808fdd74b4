/**
 * `auto = true` stores a session the request changed, not a new one it only read: cookieless requests that read
 * their session (a crawler, a health check) no longer leave a stored session each. `auto_save_empty = true` brings
 * back Beaker's behaviour, with a warning once.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { countingManager, request } from './helpers.js';

type Data = { user?: string };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('auto = true and new sessions', () => {
  it('stores nothing for 50 cookieless requests that only read their session', async () => {
    const { manager, store } = countingManager({ auto: true });
    for (let index = 0; index < 50; index += 1) {
      const { setCookies } = await request<Data>(manager, undefined, async (session) => {
        await session.get('user');
      });
      expect(setCookies).toEqual([]);
    }
    expect(store.counts().writes).toBe(0);
  });

  it('stores a new session once something is set in it', async () => {
    const { manager, store } = countingManager({ auto: true });
    const { setCookies } = await request<Data>(manager, undefined, async (session) => {
      await session.set('user', 'ada');
    });
    expect(setCookies).toHaveLength(1);
    expect(store.counts().writes).toBe(1);
  });

  it('stores every new session with auto_save_empty = true, and warns once', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const { manager, store } = countingManager({ auto: true, auto_save_empty: true });
    countingManager({ auto: true, auto_save_empty: true });
    for (let index = 0; index < 5; index += 1) {
      await request<Data>(manager, undefined, async (session) => {
        await session.get('user');
      });
    }
    expect(store.counts().writes).toBe(5);
    const codes = warn.mock.calls.map(([, options]) => options?.code);
    expect(codes.filter((code) => code === 'BEAKER_AUTO_SAVE_EMPTY')).toHaveLength(1);
  });
});
