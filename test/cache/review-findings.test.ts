/**
 * Defects a review found in the creation features (soft and hard timeouts, stale-if-error and its back-off, refresh
 * ahead, the creator's context), tags, batch reads, statistics and events, each kept as the test that failed before
 * its fix.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Backend, BackendCapabilities, LockProvider } from '../../src/backends/index.js';
import { type CacheEvent, type CreationContext } from '../../src/index.js';
import { managersClosedAfterEach } from '../helpers/cache-managers.js';
import { controlledCreator, manualCache } from '../helpers/creations.js';
import { ManualTimers, settled } from '../helpers/manual-timers.js';

const newManager = managersClosedAfterEach();

/** The namespace of the tag tokens (src/cache/tags.ts). */
const TAG_NAMESPACE = 'beaker.cache.tags';

/** A creator that always fails, counting its runs. */
function failingCreator(): { createfunc: () => string; runs: () => number } {
  let runs = 0;
  return {
    runs: () => runs,
    createfunc: () => {
      runs += 1;
      throw new Error('upstream down');
    },
  };
}

function cacheOn(options: Record<string, unknown>, events: CacheEvent[] = []) {
  return manualCache(newManager, 'review', options, events);
}

/**
 * A text store in this test, shared "across processes" (so a lock provider of its own is used when it has one),
 * without native TTL, whose reads a test can pause or fail.
 */
class HookedStore implements Backend {
  readonly type = 'hooked';
  readonly capabilities: BackendCapabilities = {
    nativeTtl: false,
    sharedAcrossProcesses: true,
    sharedAcrossHosts: false,
    ttlResolutionMs: 1,
  };
  readonly data = new Map<string, string>();
  /** Runs before each read of an entry (not of a tag token); may return a promise the read waits for. */
  beforeEntryGet: ((key: string) => Promise<void> | undefined) | undefined;
  /** Reads of the tag tokens reject. */
  failTagReads = false;
  locks: LockProvider | undefined;

  #id(namespace: string, key: string): string {
    return `${namespace}\u0000${key}`;
  }

  async get(namespace: string, key: string): Promise<string | undefined> {
    if (namespace === TAG_NAMESPACE && this.failTagReads) throw new Error('tag tokens unreadable');
    if (namespace !== TAG_NAMESPACE) await this.beforeEntryGet?.(key);
    return this.data.get(this.#id(namespace, key));
  }

  set(namespace: string, key: string, data: string): Promise<void> {
    this.data.set(this.#id(namespace, key), data);
    return Promise.resolve();
  }

  delete(namespace: string, key: string): Promise<boolean> {
    return Promise.resolve(this.data.delete(this.#id(namespace, key)));
  }

  keys(namespace: string): Promise<string[]> {
    const prefix = `${namespace}\u0000`;
    return Promise.resolve(
      [...this.data.keys()].filter((id) => id.startsWith(prefix)).map((id) => id.slice(prefix.length)),
    );
  }

  clear(namespace: string): Promise<void> {
    for (const key of [...this.data.keys()]) if (key.startsWith(`${namespace}\u0000`)) this.data.delete(key);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A manager on manual timers whose default store is `store`. */
function managerOn(store: HookedStore, events: CacheEvent[] = []) {
  const timers = new ManualTimers();
  const manager = newManager({
    type: 'hooked',
    backends: { hooked: () => store },
    timers,
    clock: timers.now,
    onEvent: (event) => events.push(event),
    reportActivity: true,
  });
  return { timers, manager };
}

/** Runs `body` with this test as the only listener of unhandled rejections; resolves to those it saw. */
async function unhandledRejectionsOf(body: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const others = process.listeners('unhandledRejection');
  process.removeAllListeners('unhandledRejection');
  const listener = (reason: unknown): void => {
    seen.push(reason);
  };
  process.on('unhandledRejection', listener);
  try {
    await body();
    // Unhandled rejections are reported after the microtask queue drains.
    await settled();
    await settled();
  } finally {
    process.removeListener('unhandledRejection', listener);
    for (const other of others) process.on('unhandledRejection', other);
  }
  return seen;
}

describe('review findings: statistics and events', () => {
  it('counts one stale serve per caller when a background creation fails under stale_if_error (soft_timeout = 0)', async () => {
    const events: CacheEvent[] = [];
    const { timers, cache } = cacheOn({ soft_timeout: 0, stale_if_error: 60 }, events);
    await cache.put('k', 'old');
    await timers.advance(11_000);
    const creator = failingCreator();
    // One caller, served the stale value once.
    expect(await cache.get('k', { createfunc: creator.createfunc })).toBe('old');
    await settled();
    expect(creator.runs()).toBe(1);
    expect(events.filter((event) => event.type === 'stale')).toHaveLength(1);
    expect(cache.stats().staleServes).toBe(1);
  });

  it('counts no stale serve and emits no stale event when a refresh ahead fails under stale_if_error', async () => {
    const events: CacheEvent[] = [];
    const { timers, cache } = cacheOn({ refresh_ahead: 3, stale_if_error: 60 }, events);
    await cache.put('k', 'v1');
    await timers.advance(8_000);
    const creator = failingCreator();
    // A hit: the caller gets the fresh value; nobody is served a stale one.
    expect(await cache.get('k', { createfunc: creator.createfunc })).toBe('v1');
    await settled();
    expect(creator.runs()).toBe(1);
    expect(events.filter((event) => event.type === 'stale')).toHaveLength(0);
    expect(cache.stats()).toMatchObject({ hits: 1, staleServes: 0 });
  });

  it('reports create and creation-error events for creations without the store (caching disabled), as stats count them', async () => {
    const events: CacheEvent[] = [];
    const { cache } = cacheOn({ enabled: false }, events);
    expect(await cache.get('k', { createfunc: () => 'v' })).toBe('v');
    await expect(
      cache.get('k', {
        createfunc: () => {
          throw new Error('upstream down');
        },
      }),
    ).rejects.toThrow('upstream down');
    expect(cache.stats()).toMatchObject({ creations: 2, errors: 1 });
    // docs/caching.md, "Events": with reportActivity, `create` for a created value and `creation-error` for every
    // failed creation.
    expect(events.map((event) => event.type)).toEqual(['miss', 'create', 'miss', 'creation-error']);
  });
});

describe('review findings: refresh ahead and the back-off', () => {
  it('refresh ahead honours error_backoff: a failing creator does not run again on every hit', async () => {
    const { timers, cache } = cacheOn({ refresh_ahead: 5, stale_if_error: 60, error_backoff: 30 });
    await cache.put('k', 'v1');
    await timers.advance(6_000);
    const creator = failingCreator();
    for (let hit = 0; hit < 5; hit += 1) {
      expect(await cache.get('k', { createfunc: creator.createfunc })).toBe('v1');
      await settled();
    }
    // The first failure starts a 30 s back-off, during which "nobody calls the creator".
    expect(creator.runs()).toBe(1);
  });

  it('refresh ahead does not re-create the value on every hit when the entry lives less than refresh_ahead (setExpire)', async () => {
    const { cache } = cacheOn({ refresh_ahead: 30 });
    let runs = 0;
    const createfunc = (context: CreationContext<string>): string => {
      runs += 1;
      // A token good for 20 s, in a region that refreshes 30 s ahead.
      context.setExpire(20);
      return `token ${runs}`;
    };
    await cache.get('token', { createfunc });
    for (let hit = 0; hit < 5; hit += 1) {
      await cache.get('token', { createfunc });
      await settled();
    }
    // No time passed: at most one refresh of the first value, not one per hit.
    expect(runs).toBeLessThanOrEqual(2);
  });
});

describe('review findings: serve-stale windows', () => {
  it('does not serve a value past grace (grace = 0) while another caller creates, though stale_if_error lengthened its store TTL', async () => {
    const { timers, cache } = cacheOn({ grace: 0, stale_if_error: 60 });
    await cache.put('k', 'old');
    // 30 s past expiry: outside grace (0), inside the stale_if_error window (60 s), which is only for failures.
    await timers.advance(40_000);
    const creator = controlledCreator<string>();
    const creating = cache.get('k', { createfunc: creator.createfunc });
    await settled();
    expect(creator.runs).toHaveLength(1);
    // No creator failed: with grace = 0 there is no serve-stale, so this caller waits for the new value.
    let second: string | undefined;
    const waiting = cache.get('k', { createfunc: () => 'unused' }).then((value) => (second = value));
    await settled();
    creator.runs[0]?.resolve('new');
    expect(await creating).toBe('new');
    await waiting;
    expect(second).toBe('new');
  });
});

describe('review findings: tags', () => {
  it('never serves a tag-deleted value as stale when the entry was deleted by its tag between the read and the lock (soft_timeout = 0)', async () => {
    const store = new HookedStore();
    const { timers, manager } = managerOn(store);
    const cache = manager.getCache<string>('tagged', { expire: 10, soft_timeout: 0 });
    await cache.put('k', 'old', { tags: ['t'] });
    await timers.advance(11_000);
    // The second read of the entry is the one under the creation lock: hold it until the tag is deleted.
    let reads = 0;
    let reachedReread!: () => void;
    const reread = new Promise<void>((resolve) => (reachedReread = resolve));
    let releaseReread!: () => void;
    const gate = new Promise<void>((resolve) => (releaseReread = resolve));
    store.beforeEntryGet = () => {
      reads += 1;
      if (reads !== 2) return undefined;
      reachedReread();
      return gate;
    };
    const creator = controlledCreator<string>();
    const answer = cache.get('k', { tags: ['t'], createfunc: creator.createfunc });
    await reread;
    await manager.deleteByTag('t');
    releaseReread();
    await settled();
    creator.runs[0]?.resolve('new');
    // A deleted entry is a miss: it is never served, not even stale, nor given to the creator as the stale value.
    expect(await answer).toBe('new');
    expect(creator.runs[0]?.context.hasStale).toBe(false);
  });

  it('invalidates a value whose tag, added by addTags, was deleted while the creator ran', async () => {
    const { manager, cache } = cacheOn({});
    await cache.open();
    let finish: ((value: string) => void) | undefined;
    const creating = cache.get('k', {
      createfunc: (context) => {
        // The creator knows its tag before it reads its data.
        context.addTags('feed');
        return new Promise<string>((resolve) => (finish = resolve));
      },
    });
    await settled();
    expect(finish).toBeDefined();
    await manager.deleteByTag('feed');
    finish?.('computed from data read before the invalidation');
    await creating;
    // docs/caching.md, "Tags": "a value computed while its tag was being invalidated counts as invalidated".
    expect(await cache.get('k')).toBeUndefined();
  });

  it('getMany keeps the fresh hit of an untagged key when the tag tokens of another key cannot be read', async () => {
    const store = new HookedStore();
    const { manager } = managerOn(store);
    const cache = manager.getCache<string>('batch', { expire: 60 });
    await cache.put('a', 'A');
    await cache.put('b', 'B', { tags: ['t'] });
    store.failTagReads = true;
    // get answers the untagged key from its entry, whatever the tokens.
    expect(await cache.get('a')).toBe('A');
    const created: string[] = [];
    const values = await cache.getMany(['a', 'b'], {
      createfunc: (key) => {
        created.push(key);
        return `created ${key}`;
      },
    });
    expect(values[0]).toBe('A');
    expect(created).not.toContain('a');
  });

  it('deleteByTag reaches the store of a cache the manager made but has not used yet', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'beaker-review-tags-'));
    const writer = newManager();
    await writer.getCache<string>('pages', { type: 'file', data_dir: dataDir }).put('p', 'page', {
      tags: ['product:1'],
    });
    // Another process: it makes the cache at start-up, then a change of product 1 arrives before any read.
    const manager = newManager();
    const pages = manager.getCache<string>('pages', { type: 'file', data_dir: dataDir });
    await manager.deleteByTag('product:1');
    expect(await pages.get('p')).toBeUndefined();
  });
});

describe('review findings: tag tokens', () => {
  it('never revives a tag-deleted entry when the memory store evicts the tag token (max_items)', async () => {
    const manager = newManager();
    const feed = manager.getCache<string>('feed', { tags: ['feed'], max_items: 3 });
    const other = manager.getCache<string>('other', { max_items: 3 });
    await feed.open();
    let finish: ((value: string) => void) | undefined;
    const creating = feed.get('k', {
      createfunc: () => new Promise<string>((resolve) => (finish = resolve)),
    });
    await settled();
    expect(finish).toBeDefined();
    // The tag is deleted while the value is computed: the value counts as deleted (its tokens were read before).
    await manager.deleteByTag('feed');
    finish?.('computed from data read before the invalidation');
    await creating;
    // Two more entries: the store's least recently used item, the tag token, is evicted.
    await other.put('x', 'x');
    await other.put('y', 'y');
    expect(await feed.get('k')).toBeUndefined();
  });

  it('never revives a tag-deleted entry when the token of a tag is lost from the store (an evicted memcached item)', async () => {
    const store = new HookedStore();
    const { manager } = managerOn(store);
    const cache = manager.getCache<string>('lost', { expire: 60 });
    await cache.put('k', 'deleted value', { tags: ['t'] });
    await manager.deleteByTag('t');
    expect(await cache.get('k')).toBeUndefined();
    // The store evicts the token, as memcached does to any item under memory pressure.
    store.data.delete(`${TAG_NAMESPACE}\u0000deleted:t`);
    // docs/caching.md, "Tags": a token lost from the store invalidates its entries rather than reviving them.
    expect(await cache.get('k')).toBeUndefined();
  });

  it('invalidates an entry tagged __proto__ like any other', async () => {
    const manager = newManager();
    const cache = manager.getCache<string>('proto', { expire: 60 });
    await cache.put('k', 'v', { tags: ['__proto__'] });
    await manager.deleteByTag('__proto__');
    expect(await cache.get('k')).toBeUndefined();
  });
});

describe('review findings: locks and timers', () => {
  it('reports, and leaves no unhandled rejection, when the lock of a refresh ahead fails to release', async () => {
    const store = new HookedStore();
    store.locks = {
      acquire: () =>
        Promise.resolve({
          release: () => Promise.reject(new Error('lock store gone')),
        }),
    };
    const { timers, manager } = managerOn(store);
    const cache = manager.getCache<string>('ahead', { expire: 10, refresh_ahead: 5 });
    await cache.put('k', 'v1');
    await timers.advance(6_000);
    const unhandled = await unhandledRejectionsOf(async () => {
      expect(await cache.get('k', { createfunc: () => 'v2' })).toBe('v1');
      await settled();
    });
    expect(unhandled).toEqual([]);
  });

  it('refuses a hard_timeout over 24.8 days (a host timer would fire at once) with a ConfigError naming it', () => {
    // 2 500 000 s is more ms than a Node timer holds (2^31 - 1): every creator would be abandoned at once.
    expect(() => newManager().getCache<string>('long', { hard_timeout: 2_500_000 })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG', option: 'hard_timeout' }) as Error,
    );
    expect(() => newManager().getCache<string>('long', { soft_timeout: '2147484' })).toThrow(
      /at most|to 2147483/,
    );
  });
});

describe('review findings: callMany', () => {
  it('callMany on a decorated method without thisArg fails with a typed error that says what to pass', async () => {
    const manager = newManager();
    // What `@manager.cache()` on a method does (esbuild here does not compile decorators): the decorator, given the
    // method's context.
    const load = manager.cache()(
      async function load(id: number): Promise<string> {
        return Promise.resolve(`item ${id}`);
      },
      { kind: 'method', name: 'load' } as ClassMethodDecoratorContext,
    );
    const failure = await manager
      .callMany(load, [[1]])
      .then(() => undefined)
      .catch((error: unknown) => error);
    // A typed error saying a method's calls need their `this`, not "Cannot convert undefined or null to object".
    expect(failure).toMatchObject({ code: expect.any(String) as string });
  });
});
