/**
 * The cache acts on what a back-end declares: a store without native TTL need not filter expired entries, and every
 * TTL reaches the store rounded up to its resolution.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, BackendCapabilities, SetOptions } from '../../src/backends/index.js';
import { CacheManager, SessionManager } from '../../src/index.js';

/** A store that keeps every entry until deleted and never looks at a TTL: what the contract allows without it. */
class KeepingBackend implements Backend {
  readonly type = 'keeping';
  readonly entries = new Map<string, string>();
  readonly ttls: (number | undefined)[] = [];
  constructor(readonly capabilities: BackendCapabilities) {}
  get(namespace: string, key: string): Promise<string | undefined> {
    return Promise.resolve(this.entries.get(JSON.stringify([namespace, key])));
  }
  set(namespace: string, key: string, data: string, options: SetOptions = {}): Promise<void> {
    this.ttls.push(options.ttlMs);
    this.entries.set(JSON.stringify([namespace, key]), data);
    return Promise.resolve();
  }
  delete(namespace: string, key: string): Promise<boolean> {
    return Promise.resolve(this.entries.delete(JSON.stringify([namespace, key])));
  }
  keys(namespace: string): Promise<string[]> {
    const keys = [...this.entries.keys()].map((id) => JSON.parse(id) as [string, string]);
    return Promise.resolve(keys.filter(([ns]) => ns === namespace).map(([, key]) => key));
  }
  async clear(namespace: string): Promise<void> {
    for (const key of await this.keys(namespace)) this.entries.delete(JSON.stringify([namespace, key]));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const LOCAL = { sharedAcrossProcesses: false, sharedAcrossHosts: false };

function managerOn(
  store: KeepingBackend,
  clock: () => number,
  options: Record<string, unknown> = {},
): CacheManager {
  return new CacheManager({ type: 'keeping', clock, backends: { keeping: () => store }, ...options });
}

/** A createfunc that resolves to 'fresh' once `finish` is called: the creation holds its lock until then. */
function pendingCreation(): { createfunc: () => Promise<string>; finish: () => void } {
  let resolveCreation: (value: string) => void = () => undefined;
  const created = new Promise<string>((resolve) => (resolveCreation = resolve));
  return {
    createfunc: () => created,
    finish: () => {
      resolveCreation('fresh');
    },
  };
}

const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('a back-end without native TTL', () => {
  it('serves an entry within its grace as stale, and drops it as missing past it', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const store = new KeepingBackend({ ...LOCAL, nativeTtl: false, ttlResolutionMs: 1 });
    const manager = managerOn(store, () => now);
    const cache = manager.getCache<string>('ns', { expire: 10, grace: 5 });
    // How many callers got the stale value while another caller was creating the new one.
    const staleServes = async (): Promise<number> => {
      const creation = pendingCreation();
      const creating = cache.get('k', { createfunc: creation.createfunc });
      await tick(10);
      const before = cache.stats().staleServes;
      // A caller that finds no stale value waits for the creator: the race ends it.
      await Promise.race([cache.get('k', { createfunc: () => 'other' }), tick(50)]);
      const served = cache.stats().staleServes - before;
      creation.finish();
      await creating;
      return served;
    };
    await cache.put('k', 'old');
    now += 12_000;
    expect(await staleServes()).toBe(1);
    await cache.put('k', 'old');
    now += 16_000;
    expect(await staleServes()).toBe(0);
    await manager.close();
  });

  // The hard expiry is the writer's: a reader with less grace must not drop what the store keeps for serve-stale.
  it('serves the stale value within the grace the writer gave, whatever grace the reader has', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const store = new KeepingBackend({ ...LOCAL, nativeTtl: false, ttlResolutionMs: 1 });
    const writer = managerOn(store, () => now);
    await writer.getCache('ns', { expire: 10, grace: 3600 }).put('k', 'stale');
    now += 60_000;
    const reader = managerOn(store, () => now);
    const cache = reader.getCache<string>('ns', { expire: 10 });
    const creation = pendingCreation();
    const creating = cache.get('k', { createfunc: creation.createfunc });
    await tick(10);
    expect(await cache.get('k', { createfunc: () => 'other' })).toBe('stale');
    creation.finish();
    expect(await creating).toBe('fresh');
    await Promise.all([writer.close(), reader.close()]);
  });

  it('keeps a store with native TTL in charge of expiry: the entry carries no hard expiry to check', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const store = new KeepingBackend({ ...LOCAL, nativeTtl: true, ttlResolutionMs: 1 });
    const manager = managerOn(store, () => now);
    const cache = manager.getCache<string>('ns', { expire: 10 });
    await cache.put('k', 'v');
    now += 60_000;
    expect(await cache.get('k')).toBeUndefined();
    // Only entries of stores without native TTL record when the store may drop them.
    expect(await store.get('ns', 'k')).not.toContain('"x":');
    await manager.close();
  });
});

describe('ttlResolutionMs', () => {
  it('rounds the TTL a cache gives the store up to whole steps', async () => {
    const store = new KeepingBackend({ ...LOCAL, nativeTtl: true, ttlResolutionMs: 60_000 });
    const manager = managerOn(store, Date.now);
    const cache = manager.getCache('ns', { expire: 10, grace: 5 });
    await cache.put('k', 'v');
    await cache.put('forever', 'v', { expiretime: null });
    // 10 s fresh plus 5 s of grace, rounded up to whole minutes; no TTL stays none.
    expect(store.ttls).toEqual([60_000, undefined]);
    await manager.close();
  });

  it('rounds the TTL of a stored session up to whole steps', async () => {
    const store = new KeepingBackend({ ...LOCAL, nativeTtl: true, ttlResolutionMs: 60_000 });
    const sessions = new SessionManager({
      type: 'keeping',
      timeout: 30,
      secret: 'a-test-secret-of-at-least-32-bytes-0123456789',
      backends: { keeping: () => store },
    });
    const session = sessions.session(undefined);
    await session.set('user', 'ada');
    await session.save();
    // The idle timeout (30 s) plus the store's margin of 120 s, rounded up to whole minutes.
    expect(store.ttls).toEqual([180_000]);
    await sessions.close();
  });
});
