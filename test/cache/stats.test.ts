/**
 * `Cache.stats()`: each `get` counts once as a hit or a miss, each `createfunc` run as a creation, and an expired
 * value served while another caller creates the new one as a stale serve.
 */
import { describe, expect, it, vi } from 'vitest';

import { ManualTimers } from '../helpers/manual-timers.js';
import { managersClosedAfterEach } from '../helpers/cache-managers.js';

/** How {@link vi.waitFor} polls here: often, since what it waits for takes a few event-loop turns. */
const POLL = { interval: 1, timeout: 5000 };

const newManager = managersClosedAfterEach();

/** The statistics of a cache that did nothing. */
const NONE = { hits: 0, misses: 0, creations: 0, staleServes: 0, refreshes: 0, lockWaits: 0, errors: 0 };

describe('Cache.stats', () => {
  it('starts at zero', () => {
    const cache = newManager().getCache('fresh');
    expect(cache.stats()).toEqual({ ...NONE });
  });

  it('counts a miss and a creation, then hits, and a miss without createfunc', async () => {
    const cache = newManager().getCache<string>('counted');
    expect(await cache.get('a', { createfunc: () => 'A' })).toBe('A');
    expect(cache.stats()).toEqual({ ...NONE, misses: 1, creations: 1 });
    expect(await cache.get('a', { createfunc: () => 'again' })).toBe('A');
    expect(await cache.get('a')).toBe('A');
    expect(await cache.get('missing')).toBeUndefined();
    expect(cache.stats()).toEqual({ ...NONE, hits: 2, misses: 2, creations: 1 });
    // put, has and keys are not lookups through get: they count nothing.
    await cache.put('b', 'B');
    await cache.has('b');
    await cache.keys();
    expect(cache.stats()).toEqual({ ...NONE, hits: 2, misses: 2, creations: 1 });
  });

  it('counts one creation for concurrent callers of a cold key', async () => {
    const timers = new ManualTimers();
    const cache = newManager({ timers }).getCache<number>('dogpile');
    let runs = 0;
    let finish!: (value: number) => void;
    const creating = Promise.all(
      Array.from({ length: 20 }, () =>
        cache.get('cold', {
          createfunc: () => {
            runs += 1;
            return new Promise<number>((resolve) => (finish = resolve));
          },
        }),
      ),
    );
    // The creation ends once the 19 other callers wait for its lock (each wait schedules its timeout).
    await vi.waitFor(() => {
      expect(timers.pendingCount).toBe(19);
    }, POLL);
    finish(42);
    const values = await creating;
    expect(values).toEqual(Array.from({ length: 20 }, () => 42));
    expect(runs).toBe(1);
    expect(cache.stats()).toEqual({ ...NONE, misses: 20, creations: 1, lockWaits: 19 });
  });

  it('counts a stale serve while another caller recreates an expired value', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const cache = newManager({ clock: () => now }).getCache<string>('stale', { expire: 10 });
    await cache.put('k', 'old');
    now += 11_000;
    let finish: ((value: string) => void) | undefined;
    const creating = cache.get('k', {
      createfunc: () => new Promise<string>((resolve) => (finish = resolve)),
    });
    // The second caller looks once the first one holds the creation lock and runs its creator.
    await vi.waitFor(() => {
      expect(finish).toBeDefined();
    }, POLL);
    expect(await cache.get('k', { createfunc: () => 'unused' })).toBe('old');
    finish?.('new');
    expect(await creating).toBe('new');
    expect(await cache.get('k')).toBe('new');
    expect(cache.stats()).toEqual({ ...NONE, hits: 1, misses: 2, creations: 1, staleServes: 1 });
  });

  it('counts every call of a disabled cache as a miss and a creation', async () => {
    const cache = newManager().getCache<number>('off', { enabled: false });
    let runs = 0;
    await cache.get('k', { createfunc: () => ++runs });
    await cache.get('k', { createfunc: () => ++runs });
    await cache.get('k');
    expect(cache.stats()).toEqual({ ...NONE, misses: 3, creations: 2 });
  });

  it('returns a snapshot that later calls do not change', async () => {
    const cache = newManager().getCache<string>('snapshot');
    const before = cache.stats();
    await cache.get('k', { createfunc: () => 'v' });
    expect(before.misses).toBe(0);
    expect(cache.stats().misses).toBe(1);
  });
});
