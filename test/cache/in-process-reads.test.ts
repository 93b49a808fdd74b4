/**
 * Reads from a store in this process: a memory hit is answered without waiting on the store, `Cache.peek` reads
 * synchronously where it can (and says why where it cannot), and the serialized memory store keeps and hands out
 * copies exactly as a round trip through the codec's text would.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SynchronousReadError } from '../../src/index.js';
import { decodeValue, encodeValue } from '../../src/shared/codec.js';
import { managersClosedAfterEach } from '../helpers/cache-managers.js';

const newManager = managersClosedAfterEach();

describe('a memory hit', () => {
  for (const serialize of [true, false]) {
    it(`is read from the store before the caller awaits (serialize = ${String(serialize)})`, async () => {
      const cache = newManager().getCache<string>('hot', { serialize });
      await cache.put('k', 'v');
      const pending = cache.get('k', { createfunc: () => 'created' });
      // Counted already: the store was read synchronously, not in a later `.then`.
      expect(cache.stats().hits).toBe(1);
      expect(await pending).toBe('v');
    });
  }
});

describe('Cache.peek', () => {
  it('answers hits and misses synchronously and counts them as get does', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const cache = newManager({ clock: () => now }).getCache<{ n: number }>('peeked', { expire: 10 });
    await cache.put('k', { n: 1 });
    expect(cache.peek('k')).toEqual({ n: 1 });
    expect(cache.peek('absent')).toBeUndefined();
    now += 11_000;
    expect(cache.peek('k')).toBeUndefined();
    expect(cache.stats()).toEqual({
      hits: 1,
      misses: 2,
      creations: 0,
      staleServes: 0,
      refreshes: 0,
      lockWaits: 0,
      errors: 0,
    });
  });

  it('reads once open() has opened the store, and says so before', async () => {
    const cache = newManager().getCache<string>('unopened');
    expect(() => cache.peek('k')).toThrow(SynchronousReadError);
    expect(() => cache.peek('k')).toThrow(/not open yet/);
    await cache.open();
    expect(cache.peek('k')).toBeUndefined();
    await cache.put('k', 'v');
    expect(cache.peek('k')).toBe('v');
  });

  it('refuses a store outside this process, naming it', async () => {
    const cache = newManager().getCache('on-disk', {
      type: 'file',
      data_dir: mkdtempSync(join(tmpdir(), 'beaker-peek-')),
    });
    await cache.open();
    expect(() => cache.peek('k')).toThrow(/outside this process/);
    expect(() => cache.peek('k')).toThrow(
      expect.objectContaining({ code: 'E_NO_SYNC_READ', backend: 'file' }),
    );
  });

  it('is a miss when caching is disabled', () => {
    const cache = newManager().getCache('off', { enabled: false });
    expect(cache.peek('k')).toBeUndefined();
  });
});

describe('the serialized memory store', () => {
  const values: [string, unknown][] = [
    ['a plain graph', { a: [1, 'two', { three: true, four: null }], b: 'text' }],
    ['negative zero', { z: -0, list: [-0] }],
    ['undefined properties', { kept: 1, dropped: undefined }],
    ['an own __proto__ key', JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as unknown],
    ['a null-prototype object', Object.assign(Object.create(null) as object, { a: 1 })],
    ['a Date and a Map', { when: new Date('2030-01-01T00:00:00Z'), map: new Map([['k', 1]]) }],
    ['a top-level string', 'just text'],
    ['undefined', undefined],
  ];
  for (const [name, value] of values) {
    it(`returns ${name} as the codec's text would`, async () => {
      const cache = newManager().getCache('copies');
      await cache.put('k', value);
      const read = await cache.get('k');
      expect(read).toStrictEqual(decodeValue(encodeValue(value)));
      expect(Object.getPrototypeOf({})).not.toHaveProperty('polluted');
    });
  }

  it('keeps its own copy: changing the value put or read changes nothing stored', async () => {
    const cache = newManager().getCache<{ list: number[] }>('isolated');
    const value = { list: [1, 2] };
    await cache.put('k', value);
    value.list.push(3);
    const read = await cache.get('k');
    read?.list.push(4);
    expect(await cache.get('k')).toEqual({ list: [1, 2] });
    expect(cache.peek('k')).not.toBe(cache.peek('k'));
  });

  it('copies own keys only, even with an enumerable property added to Object.prototype', async () => {
    const cache = newManager().getCache<Record<string, unknown>>('polluted');
    await cache.put('k', { nested: { a: 1 } });
    Object.defineProperty(Object.prototype, 'injected', {
      value: { evil: true },
      enumerable: true,
      configurable: true,
      writable: true,
    });
    try {
      const read = await cache.get('k');
      expect(JSON.stringify(read)).toBe('{"nested":{"a":1}}');
      expect(Object.hasOwn(read ?? {}, 'injected')).toBe(false);
      expect(Object.hasOwn(read?.nested ?? {}, 'injected')).toBe(false);
    } finally {
      Reflect.deleteProperty(Object.prototype, 'injected');
    }
  });

  it('rejects a value the codec cannot encode, as before', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(newManager().getCache('cycles').put('k', cyclic)).rejects.toMatchObject({
      code: 'E_UNENCODABLE_VALUE',
    });
  });

  it("stores text through a cache's own data_serializer", async () => {
    const calls: string[] = [];
    const cache = newManager().getCache<string>('custom', {
      data_serializer: {
        dumps: (value: unknown) => (calls.push('dumps'), `<${String(value)}>`),
        loads: (data: string | Uint8Array) => (calls.push('loads'), String(data).slice(1, -1)),
      },
    });
    await cache.put('k', 'v');
    expect(await cache.get('k')).toBe('v');
    expect(calls).toEqual(['dumps', 'loads']);
  });
});
