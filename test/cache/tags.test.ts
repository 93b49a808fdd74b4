/**
 * Tags in one process, on the memory store and on files (text entries): `deleteByTag` makes tagged entries misses,
 * `expireByTag` makes them stale (served stale while one caller creates), across namespaces and regions; a tag
 * invalidated while a value is being created invalidates that value too. Batch reads (`getMany`, `callMany`).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parseCacheConfigOptions } from '../../src/index.js';
import { managersClosedAfterEach } from '../helpers/cache-managers.js';

/** How {@link vi.waitFor} polls here: often, since what it waits for takes a few event-loop turns. */
const POLL = { interval: 1, timeout: 5000 };

const newManager = managersClosedAfterEach();

const stores: [string, Record<string, unknown>][] = [
  ['memory', { type: 'memory' }],
  ['memory, serialize = false', { type: 'memory', serialize: false }],
  ['file', { type: 'file', data_dir: mkdtempSync(join(tmpdir(), 'beaker-tags-')) }],
];

describe.each(stores)('tags on %s', (_label, storeOptions) => {
  it('deleteByTag makes every entry with the tag a miss, in every namespace, and nothing else', async () => {
    const manager = newManager(storeOptions);
    const users = manager.getCache<string>('users');
    const pages = manager.getCache<string>('pages');
    await users.put('1', 'alice', { tags: ['user:1'] });
    await pages.put('/u/1', 'page of alice', { tags: ['user:1', 'pages'] });
    await users.put('2', 'bob', { tags: ['user:2'] });
    await users.put('3', 'carol');
    await manager.deleteByTag('user:1');
    expect(await users.get('1')).toBeUndefined();
    expect(await pages.get('/u/1')).toBeUndefined();
    expect(await users.has('1')).toBe(false);
    expect(await users.get('2')).toBe('bob');
    expect(await users.get('3')).toBe('carol');
    // A value stored after the invalidation is valid.
    await users.put('1', 'alice again', { tags: ['user:1'] });
    expect(await users.get('1')).toBe('alice again');
  });

  it('expireByTag makes tagged entries stale: served at once while one caller creates the new value', async () => {
    const manager = newManager(storeOptions);
    const cache = manager.getCache<string>('expiring', { expire: 60 });
    await cache.put('k', 'old', { tags: ['t'] });
    await manager.expireByTag('t');
    expect(await cache.get('k')).toBeUndefined();
    let finish!: (value: string) => void;
    const creating = cache.get('k', {
      tags: ['t'],
      createfunc: () => new Promise<string>((resolve) => (finish = resolve)),
    });
    // The second caller looks once the first one holds the creation lock and runs its creator.
    await vi.waitFor(() => {
      expect(finish).toBeDefined();
    }, POLL);
    expect(await cache.get('k', { createfunc: () => 'unused' })).toBe('old');
    finish('new');
    expect(await creating).toBe('new');
    expect(await cache.get('k')).toBe('new');
  });

  it('counts a value created while its tag was invalidated as invalidated', async () => {
    const manager = newManager(storeOptions);
    const cache = manager.getCache<string>('racing', { tags: ['feed'] });
    let finish!: (value: string) => void;
    const creating = cache.get('k', {
      createfunc: () => new Promise<string>((resolve) => (finish = resolve)),
    });
    await vi.waitFor(() => {
      expect(finish).toBeDefined();
    }, POLL);
    await manager.deleteByTag('feed');
    finish('computed from data read before the invalidation');
    await creating;
    expect(await cache.get('k')).toBeUndefined();
  });

  it('keeps every entry of a burst of concurrent first writes with a new tag', async () => {
    const manager = newManager(storeOptions);
    const cache = manager.getCache<number>('burst');
    const keys = Array.from({ length: 64 }, (_, index) => `k${index}`);
    await Promise.all(
      keys.map((key, index) => cache.put(key, index, { tags: ['new-tag', 'other-new-tag'] })),
    );
    expect(await Promise.all(keys.map((key) => cache.get(key)))).toEqual(keys.map((_, index) => index));
    await manager.deleteByTag('new-tag');
    expect(await cache.getMany(keys)).toEqual(keys.map(() => undefined));
  });

  it('reads several keys in one call, creating each missing one', async () => {
    const manager = newManager(storeOptions);
    const cache = manager.getCache<string>('many');
    await cache.put('a', 'A');
    await cache.put('c', 'C', { tags: ['gone'] });
    await manager.deleteByTag('gone');
    expect(await cache.getMany(['a', 'b', 'c'])).toEqual(['A', undefined, undefined]);
    const created: string[] = [];
    const values = await cache.getMany(['a', 'b', 'c', 'b'], {
      createfunc: (key) => {
        created.push(key);
        return key.toUpperCase();
      },
    });
    expect(values).toEqual(['A', 'B', 'C', 'B']);
    expect(created.sort()).toEqual(['b', 'c']);
    expect(await cache.getMany([])).toEqual([]);
  });
});

describe('tags of regions and cached functions', () => {
  it('tags every entry of a region with cache.<region>.tags, and a cached function with its tags option', async () => {
    const manager = newManager(
      parseCacheConfigOptions({
        'cache.regions': 'catalog',
        'cache.catalog.type': 'memory',
        'cache.catalog.tags': 'catalog, products',
      }),
    );
    let loads = 0;
    const load = manager.region('catalog')(async function loadProduct(id: number) {
      loads += 1;
      return Promise.resolve(`product ${id}`);
    });
    let searches = 0;
    const search = manager.cache({ tags: ['search'] })(async function search(term: string) {
      searches += 1;
      return Promise.resolve(`results for ${term}`);
    });
    await load(1);
    await load(1);
    await search('x');
    expect([loads, searches]).toEqual([1, 1]);
    await manager.deleteByTag('products');
    await load(1);
    await search('x');
    expect([loads, searches]).toEqual([2, 1]);
    await manager.expireByTag(['search']);
    await search('x');
    expect(searches).toBe(2);
  });

  it('calls a cached function for many argument lists in one batch read', async () => {
    const manager = newManager();
    const calls: number[] = [];
    const load = manager.cache()(async function loadUser(id: number) {
      calls.push(id);
      return Promise.resolve({ id });
    });
    await load(1);
    expect(await manager.callMany(load, [[1], [2], [3]])).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(calls).toEqual([1, 2, 3]);
    expect(await manager.callMany(load, [[3], [1]])).toEqual([{ id: 3 }, { id: 1 }]);
    expect(calls).toEqual([1, 2, 3]);
  });

  it('refuses an empty tag with a typed error naming the option', async () => {
    const manager = newManager();
    await expect(manager.deleteByTag('')).rejects.toMatchObject({ code: 'E_CONFIG', option: 'tags' });
    expect(() => manager.getCache('x', { tags: 'a,,b' })).toThrow(/tags must be a comma separated list/);
  });
});
