/**
 * Creation beyond Beaker, in one process on the memory store, on manual timers and a manual clock: background refresh
 * (`soft_timeout = 0`), a soft timeout, a hard timeout that aborts the creator and frees the lock, stale-if-error with
 * its back-off, refresh ahead of expiry, the creator's context, and the activity events.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  coerceCacheParams,
  CreationTimeoutError,
  parseCacheConfigOptions,
  type CacheEvent,
} from '../../src/index.js';
import { managersClosedAfterEach } from '../helpers/cache-managers.js';
import { controlledCreator, manualCache } from '../helpers/creations.js';
import { settled } from '../helpers/manual-timers.js';

const newManager = managersClosedAfterEach();

function cacheOn(options: Record<string, unknown>, events: CacheEvent[] = []) {
  return manualCache(newManager, 'creation', options, events);
}

describe('background refresh and soft timeouts', () => {
  it('with soft_timeout = 0, answers every caller with the stale value at once, the creating one included', async () => {
    const events: CacheEvent[] = [];
    const { timers, cache } = cacheOn({ soft_timeout: 0 }, events);
    await cache.put('k', 'old');
    await timers.advance(11_000);
    const creator = controlledCreator<string>();
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => cache.get('k', { createfunc: creator.createfunc })),
    );
    expect(answers).toEqual(Array.from({ length: 50 }, () => 'old'));
    await settled();
    expect(creator.runs).toHaveLength(1);
    expect(creator.runs[0]?.context.stale).toBe('old');
    creator.runs[0]?.resolve('new');
    await settled();
    expect(await cache.get('k')).toBe('new');
    expect(cache.stats()).toMatchObject({ creations: 1, refreshes: 1, staleServes: 50 });
    expect(events.filter((event) => event.type === 'refresh')).toHaveLength(1);
    expect(events.filter((event) => event.type === 'create')).toHaveLength(0);
  });

  it('gives the creating caller the stale value after soft_timeout, and stores the new value when it lands', async () => {
    const { timers, cache } = cacheOn({ soft_timeout: 0.5 });
    await cache.put('k', 'old');
    await timers.advance(11_000);
    const creator = controlledCreator<string>();
    let answer: string | undefined;
    void cache.get('k', { createfunc: creator.createfunc }).then((value) => (answer = value));
    await timers.advance(499);
    expect(answer).toBeUndefined();
    await timers.advance(1);
    expect(answer).toBe('old');
    creator.runs[0]?.resolve('new');
    await settled();
    expect(await cache.get('k')).toBe('new');
  });

  it('gives the creating caller the new value when it comes before soft_timeout', async () => {
    const { timers, cache } = cacheOn({ soft_timeout: 1 });
    await cache.put('k', 'old');
    await timers.advance(11_000);
    const creator = controlledCreator<string>();
    const answer = cache.get('k', { createfunc: creator.createfunc });
    await timers.advance(200);
    creator.runs[0]?.resolve('new');
    expect(await answer).toBe('new');
    expect(timers.pendingCount).toBe(0);
  });
});

describe('hard timeouts', () => {
  it('abandons a creator at hard_timeout: aborts its signal, frees the lock, and fails the call with a typed error', async () => {
    const { timers, cache } = cacheOn({ hard_timeout: 2 });
    const creator = controlledCreator<string>();
    const first = cache.get('k', { createfunc: creator.createfunc });
    const failure = first.catch((error: unknown) => error);
    await timers.advance(2_000);
    const error = await failure;
    expect(error).toBeInstanceOf(CreationTimeoutError);
    expect((error as CreationTimeoutError).message).toContain('hard_timeout');
    expect(creator.runs[0]?.context.signal.aborted).toBe(true);
    expect(creator.runs[0]?.context.signal.reason).toBe(error);
    // The lock is free: the next caller creates at once rather than waiting for the abandoned one.
    expect(await cache.get('k', { createfunc: () => 'second' })).toBe('second');
    // What the abandoned creator returns later is not stored.
    creator.runs[0]?.resolve('late');
    await settled();
    expect(await cache.get('k')).toBe('second');
  });

  it('serves the stale value at hard_timeout under stale_if_error', async () => {
    const { timers, cache } = cacheOn({ hard_timeout: 1, stale_if_error: 60 });
    await cache.put('k', 'old');
    await timers.advance(11_000);
    const creator = controlledCreator<string>();
    const answer = cache.get('k', { createfunc: creator.createfunc });
    await timers.advance(1_000);
    expect(await answer).toBe('old');
  });
});

describe('stale-if-error', () => {
  it('answers a failing creator with the stale value, reports it, and retries once per back-off', async () => {
    const events: CacheEvent[] = [];
    const { timers, cache } = cacheOn({ stale_if_error: 300, error_backoff: 5 }, events);
    await cache.put('k', 'old');
    await timers.advance(11_000);
    let runs = 0;
    const failing = (): string => {
      runs += 1;
      throw new Error('upstream down');
    };
    expect(await cache.get('k', { createfunc: failing })).toBe('old');
    expect(runs).toBe(1);
    const errors = events.filter((event) => event.type === 'creation-error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ servedStale: true, key: 'k' });
    // Within the back-off nobody calls the creator.
    for (let call = 0; call < 20; call += 1)
      expect(await cache.get('k', { createfunc: failing })).toBe('old');
    expect(runs).toBe(1);
    await timers.advance(5_000);
    expect(await cache.get('k', { createfunc: failing })).toBe('old');
    expect(runs).toBe(2);
    expect(await cache.get('k', { createfunc: () => 'new' })).toBe('old');
    await timers.advance(5_000);
    expect(await cache.get('k', { createfunc: () => 'new' })).toBe('new');
    expect(cache.stats().errors).toBe(2);
  });

  it('keeps the store expiry of the original entry when it records a back-off (a store without native TTL)', async () => {
    const { timers, cache } = cacheOn({
      type: 'file',
      data_dir: mkdtempSync(join(tmpdir(), 'beaker-stale-if-error-')),
      grace: 0,
      stale_if_error: 20,
      error_backoff: 1,
    });
    await cache.put('k', 'old');
    await timers.advance(11_000);
    const failing = (): string => {
      throw new Error('upstream down');
    };
    expect(await cache.get('k', { createfunc: failing })).toBe('old');
    await timers.advance(18_000);
    expect(await cache.get('k', { createfunc: failing })).toBe('old');
    // 30 s after it was stored (expire 10 + stale_if_error 20) the entry is gone, back-offs or not.
    await timers.advance(1_000);
    await expect(cache.get('k', { createfunc: failing })).rejects.toThrow('upstream down');
  });

  it('fails the call when the stale value is older than the stale_if_error window', async () => {
    const { timers, cache } = cacheOn({ stale_if_error: 5, grace: 100 });
    await cache.put('k', 'old');
    await timers.advance(16_000);
    await expect(
      cache.get('k', {
        createfunc: () => {
          throw new Error('upstream down');
        },
      }),
    ).rejects.toThrow('upstream down');
  });

  it('fails the call without stale_if_error, as before', async () => {
    const { timers, cache } = cacheOn({});
    await cache.put('k', 'old');
    await timers.advance(11_000);
    await expect(
      cache.get('k', {
        createfunc: () => {
          throw new Error('upstream down');
        },
      }),
    ).rejects.toThrow('upstream down');
  });
});

describe('refresh ahead of expiry', () => {
  it('refreshes a hit within refresh_ahead of its expiry once, in the background', async () => {
    const { timers, cache } = cacheOn({ refresh_ahead: 3 });
    await cache.put('k', 'v1');
    await timers.advance(6_000);
    const creator = controlledCreator<string>();
    expect(await cache.get('k', { createfunc: creator.createfunc })).toBe('v1');
    await settled();
    expect(creator.runs).toHaveLength(0);
    await timers.advance(1_500);
    for (let call = 0; call < 10; call += 1) {
      expect(await cache.get('k', { createfunc: creator.createfunc })).toBe('v1');
    }
    await settled();
    expect(creator.runs).toHaveLength(1);
    creator.runs[0]?.resolve('v2');
    await settled();
    await timers.advance(3_000);
    // v1 would have expired by now; the refreshed value is fresh.
    expect(await cache.get('k')).toBe('v2');
    expect(cache.stats().refreshes).toBe(1);
  });
});

describe("the creator's context", () => {
  it('sets the expiry, adds tags, and skips storing from the computed value', async () => {
    const { timers, cache, manager } = cacheOn({});
    expect(
      await cache.get('short', {
        createfunc: (context) => {
          context.setExpire(2);
          context.addTags('tokens');
          return 'token';
        },
      }),
    ).toBe('token');
    expect(await cache.get('short')).toBe('token');
    await manager.deleteByTag('tokens');
    expect(await cache.get('short')).toBeUndefined();
    await cache.get('short', {
      createfunc: (context) => {
        context.setExpire(2);
        return 'token';
      },
    });
    await timers.advance(2_000);
    expect(await cache.get('short')).toBeUndefined();
    expect(
      await cache.get('error', {
        createfunc: (context) => {
          context.skip();
          return 'error page';
        },
      }),
    ).toBe('error page');
    expect(await cache.has('error')).toBe(false);
    await expect(
      cache.get('bad', {
        createfunc: (context) => {
          context.setExpire(-1);
          return 'x';
        },
      }),
    ).rejects.toThrow(RangeError);
  });
});

describe('activity events', () => {
  it('reports hits, misses and creations only with reportActivity', async () => {
    const quiet: CacheEvent[] = [];
    const silent = newManager({ onEvent: (event) => quiet.push(event) }).getCache<string>('quiet');
    await silent.get('k', { createfunc: () => 'v' });
    await silent.get('k');
    expect(quiet).toEqual([]);
    const events: CacheEvent[] = [];
    const { cache } = cacheOn({}, events);
    await cache.get('k', { createfunc: () => 'v' });
    await cache.get('k');
    expect(events.map((event) => event.type)).toEqual(['miss', 'create', 'hit']);
    expect(events[1]).toMatchObject({ namespace: 'creation', key: 'k', backend: 'memory' });
  });
});

describe('the creation options', () => {
  it('reads them from flat keys, fractions included, and regions inherit them', () => {
    const parsed = parseCacheConfigOptions({
      'cache.regions': 'fast',
      'cache.soft_timeout': '0',
      'cache.hard_timeout': '2.5',
      'cache.fast.stale_if_error': '600',
      'cache.fast.refresh_ahead': '0.5',
      'cache.fast.tags': 'a, b',
    });
    expect(parsed.cache_regions?.fast).toMatchObject({
      soft_timeout: 0,
      hard_timeout: 2.5,
      stale_if_error: 600,
      refresh_ahead: 0.5,
      tags: ['a', 'b'],
    });
  });

  it.each([
    ['soft_timeout', '-1'],
    ['hard_timeout', '0'],
    ['stale_if_error', 'soon'],
    ['error_backoff', '-2'],
    ['refresh_ahead', '0'],
  ])('refuses %s = %s with a ConfigError naming the option', (option, value) => {
    expect(() => coerceCacheParams({ [option]: value })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG', option }) as Error,
    );
  });
});
