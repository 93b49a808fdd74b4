/** Behaviours particular to one back-end, beyond the shared conformance suite. */
import { mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BackendContext, BackendEvent } from '../../src/backends/index.js';
import { dbmBackend } from '../../src/backends/dbm/index.js';
import { FileBackend } from '../../src/backends/file/index.js';
import { memoryBackend } from '../../src/backends/memory/index.js';
import { CacheManager } from '../../src/index.js';

const context = { clock: Date.now, report: () => undefined };

/** A file back-end holding one entry, `ns`/`k`, whose file was overwritten with garbage; and what it reports. */
async function withGarbledEntry(): Promise<{ backend: FileBackend; events: BackendEvent[]; dir: string }> {
  const root = mkdtempSync(join(tmpdir(), 'beaker-file-garbled-'));
  const events: BackendEvent[] = [];
  const backend = new FileBackend(
    { file_dir: root },
    { clock: Date.now, report: (event) => events.push(event) },
  );
  await backend.set('ns', 'k', 'v');
  const shard = readdirSync(root)[0] ?? '';
  const dir = join(root, shard, readdirSync(join(root, shard))[0] ?? '');
  writeFileSync(join(dir, readdirSync(dir)[0] ?? ''), 'garbage without a header');
  return { backend, events, dir };
}

describe('memory back-end', () => {
  it('evicts the least recently used entries beyond max_items', async () => {
    const manager = new CacheManager({ type: 'memory', max_items: 3 });
    const cache = manager.getCache('lru');
    for (const key of ['a', 'b', 'c']) await cache.put(key, key);
    await cache.get('a'); // a is now the most recently used
    await cache.put('d', 'd');
    expect(await cache.has('b')).toBe(false);
    expect((await cache.keys()).sort()).toEqual(['a', 'c', 'd']);
    await manager.close();
  });

  it('hands out the stored object itself only with serialize = false', async () => {
    const manager = new CacheManager({ type: 'memory', serialize: false });
    const cache = manager.getCache<{ n: number }>('live');
    const value = { n: 1 };
    await cache.put('k', value);
    expect(await cache.get('k')).toBe(value);
    await manager.close();
  });
});

describe('file back-end', () => {
  it('prunes temporary files left by a killed writer, and keeps recent ones', async () => {
    const root = mkdtempSync(join(tmpdir(), 'beaker-file-prune-'));
    const backend = new FileBackend({ file_dir: root }, context);
    await backend.set('ns', 'k', 'v');
    const [shard] = readdirSync(root);
    const [namespaceDir] = readdirSync(join(root, shard ?? ''));
    const dir = join(root, shard ?? '', namespaceDir ?? '');
    const old = join(dir, 'x.cache.123-1-abcd.tmp');
    const recent = join(dir, 'y.cache.123-2-abcd.tmp');
    writeFileSync(old, 'half');
    writeFileSync(recent, 'in progress');
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(old, hourAgo, hourAgo);
    expect(await backend.prune()).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(
      [readdirSync(dir).find((name) => name.endsWith('.cache')), 'y.cache.123-2-abcd.tmp'].sort(),
    );
    expect(await backend.get('ns', 'k')).toBe('v');
  });

  it('reports an unreadable entry file and treats it as missing', async () => {
    const { backend, events } = await withGarbledEntry();
    expect(await backend.get('ns', 'k')).toBeUndefined();
    expect(events).toHaveLength(1);
  });

  // delete() read the entry first only to say whether it was there; the unlink tells it.
  it('deletes without reading the entry: an unreadable file is removed, unreported, and counted', async () => {
    const { backend, events, dir } = await withGarbledEntry();
    expect(await backend.delete('ns', 'k')).toBe(true);
    expect(events).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
    expect(await backend.delete('ns', 'k')).toBe(false);
  });

  it('needs data_dir or file_dir, with Beaker’s text', () => {
    expect(() => new FileBackend({}, context)).toThrow('data_dir or file_dir is required');
  });

  it('creates nothing on disk for a read of an unknown namespace', async () => {
    const root = mkdtempSync(join(tmpdir(), 'beaker-file-read-'));
    mkdirSync(join(root, 'data'));
    const backend = new FileBackend({ file_dir: join(root, 'data') }, context);
    expect(await backend.get('unknown', 'k')).toBeUndefined();
    expect(await backend.keys('unknown')).toEqual([]);
    expect(readdirSync(join(root, 'data'))).toEqual([]);
  });
});

describe('a custom data_serializer', () => {
  it('stores through dumps and reads through loads, on a disk back-end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'beaker-serializer-'));
    const calls: string[] = [];
    const serializer = {
      dumps: (value: unknown) => {
        calls.push('dumps');
        return new TextEncoder().encode(JSON.stringify(value));
      },
      loads: (data: string | Uint8Array) => {
        calls.push('loads');
        return JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data)) as unknown;
      },
    };
    const events: string[] = [];
    const manager = new CacheManager({
      type: 'file',
      data_dir: dir,
      data_serializer: serializer,
      onEvent: (event) => events.push(event.type),
    });
    const cache = manager.getCache('custom');
    await cache.put('k', { hello: 'world' });
    expect(await cache.get('k')).toEqual({ hello: 'world' });
    expect(calls).toEqual(['dumps', 'loads']);
    // An entry written by the default serializer is not mistaken for one of this serializer.
    await new CacheManager({ type: 'file', data_dir: dir }).getCache('custom').put('other', 1);
    expect(await cache.get('other')).toBeUndefined();
    expect(events).toEqual(['decode-error']);
    await manager.close();
  });
});

// The contract lets a store without native TTL return expired entries until prune(); the built-in ones filter them
// on read all the same, since it costs them nothing. The memory store never returns one, so it declares native TTL
// (and the cache skips recording each entry's hard expiry there).
describe.each([
  ['memory', memoryBackend],
  ['file', (options: Record<string, unknown>, context: BackendContext) => new FileBackend(options, context)],
  ['dbm', dbmBackend],
] as const)('the %s back-end, filtering expiry itself', (name, factory) => {
  it('returns, lists and counts no entry past its TTL, before any prune()', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const dir = mkdtempSync(join(tmpdir(), 'beaker-expiry-'));
    const backend = await factory({ data_dir: dir }, { clock: () => now, report: () => undefined });
    expect(backend.capabilities.nativeTtl).toBe(name === 'memory');
    await backend.set('ns', 'short', 'v', { ttlMs: 1000 });
    await backend.set('ns', 'kept', 'v');
    now += 1000;
    expect(await backend.get('ns', 'short')).toBeUndefined();
    expect(await backend.keys('ns')).toEqual(['kept']);
    await backend.close();
  });
});
