/**
 * Back-end descriptors: each back-end's options are coerced by its own rules, alike for sessions and caches, flat
 * and typed; a back-end receives exactly its declared options; a user's descriptor works as a built-in's does.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CacheManager,
  ConfigError,
  SessionManager,
  parseCacheConfigOptions,
  parseSessionConfigOptions,
  type ConfigWarning,
} from '../../src/index.js';
import type { AnyBackend, Backend, BackendContext } from '../../src/backends/contract.js';
import { BUILT_IN_BACKENDS } from '../../src/backends/built-in.js';
import { defineBackend } from '../../src/backends/define.js';
import { memoryBackend } from '../../src/backends/memory/index.js';

const SECRET = 'a session secret that is long enough for the test';

/** A memory store that records the options each opening received. */
function recordingDescriptor(received: Record<string, unknown>[]) {
  return defineBackend<{ shelf_size?: number | null }>({
    name: 'shelf',
    options: {
      shelf_size: {
        kinds: ['int', 'null'],
        message: 'shelf_size must be a whole number.',
        expected: 'a whole number',
      },
    },
    coreOptions: ['data_dir'],
    capabilities: { sharedAcrossProcesses: false, sharedAcrossHosts: false },
    create: (options, context: BackendContext): AnyBackend | Promise<AnyBackend> => {
      received.push({ ...options });
      return memoryBackend({}, context);
    },
  });
}

describe('built-in back-end options through flat configuration', () => {
  it('session.max_items from an INI string bounds the memory store, and the first save works', async () => {
    const options = parseSessionConfigOptions({
      'session.type': 'memory',
      'session.max_items': '5',
      'session.secret': SECRET,
    });
    expect(options.max_items).toBe(5);
    const sessions = new SessionManager(options);
    const session = sessions.session(undefined);
    await session.set('user', 'ada');
    await expect(session.save()).resolves.toBeUndefined();
    await sessions.close();
  });

  it('refuses an invalid max_items alike for sessions and caches, at parse time', () => {
    expect(() => parseSessionConfigOptions({ 'session.max_items': '0' })).toThrow(ConfigError);
    expect(() => parseSessionConfigOptions({ 'session.max_items': '0' })).toThrow('session.max_items');
    expect(() => parseCacheConfigOptions({ 'cache.max_items': '0' })).toThrow('cache.max_items');
  });

  it('keeps lock_lease, project_id and datastore_namespace as before for both', () => {
    const flat = { lock_lease: '30', project_id: 'p', datastore_namespace: 'ns' };
    const session = parseSessionConfigOptions(
      Object.fromEntries(Object.entries(flat).map(([name, value]) => [`session.${name}`, value])),
    );
    const cache = parseCacheConfigOptions(
      Object.fromEntries(Object.entries(flat).map(([name, value]) => [`cache.${name}`, value])),
    );
    for (const options of [session, cache] as Record<string, unknown>[]) {
      expect(options).toMatchObject({ lock_lease: 30, project_id: 'p', datastore_namespace: 'ns' });
    }
    expect(() => parseSessionConfigOptions({ 'session.lock_lease': '2' })).toThrow('lock_lease');
  });
});

describe('a descriptor of your own', () => {
  it("coerces its options for caches and passes exactly them (and the core's it declares)", async () => {
    const received: Record<string, unknown>[] = [];
    const warnings: ConfigWarning[] = [];
    const parsed = parseCacheConfigOptions(
      {
        'cache.type': 'shelf',
        'cache.shelf_size': '12',
        'cache.data_dir': '/tmp/shelf',
        'cache.expire': '60',
      },
      { knownOptions: ['shelf_size'], onWarning: (warning) => warnings.push(warning) },
    );
    const caches = new CacheManager({ ...parsed, backends: { shelf: recordingDescriptor(received) } });
    await caches.getCache('ns').put('k', 'v');
    expect(received).toEqual([{ shelf_size: 12, data_dir: '/tmp/shelf' }]);
    expect(warnings).toEqual([]);
    await caches.close();
  });

  it('coerces its options for sessions the same way, and never passes session options', async () => {
    const received: Record<string, unknown>[] = [];
    const parsed = parseSessionConfigOptions(
      {
        'session.type': 'shelf',
        'session.shelf_size': '12',
        'session.timeout': '60',
        'session.secret': SECRET,
      },
      { knownOptions: ['shelf_size'], onWarning: () => undefined },
    );
    const sessions = new SessionManager({ ...parsed, backends: { shelf: recordingDescriptor(received) } });
    await sessions.ready();
    expect(received).toEqual([{ shelf_size: 12, data_dir: null }]);
    await sessions.close();
  });

  it('refuses an invalid value of its option with a ConfigError', async () => {
    const caches = new CacheManager({
      type: 'shelf',
      ...({ shelf_size: 'many' } as object),
      backends: { shelf: recordingDescriptor([]) },
    });
    await expect(caches.ready()).rejects.toThrow('shelf_size must be a whole number.');
    await caches.close();
  });

  it("knows its option names in the cache manager's unknown-option check", () => {
    const warnings: string[] = [];
    const listener = (warning: Error): void => {
      warnings.push(warning.message);
    };
    process.on('warning', listener);
    try {
      new CacheManager({
        type: 'shelf',
        ...({ shelf_size: 3 } as object),
        backends: { shelf: recordingDescriptor([]) },
      });
    } finally {
      process.off('warning', listener);
    }
    expect(warnings.filter((message) => message.includes('shelf_size'))).toEqual([]);
  });

  it("knows its option names in the session manager's unknown-option check, and suggests them", async () => {
    const warnings = await processWarnings(async () => {
      for (const options of [{ shelf_size: 3 }, { shelf_sise: 3 }]) {
        const sessions = new SessionManager({
          type: 'shelf',
          secret: SECRET,
          ...(options as object),
          backends: { shelf: recordingDescriptor([]) },
        });
        await sessions.close();
      }
    });
    expect(warnings.filter((message) => message.includes('shelf_si'))).toEqual([
      'Unknown option "shelf_sise": neither beaker-ts nor a back-end declares it, so only a back-end registered as a ' +
        'plain factory receives it. Did you mean "shelf_size"?',
    ]);
  });
});

/** The messages of the process warnings emitted while `body` runs. */
async function processWarnings(body: () => Promise<void>): Promise<string[]> {
  const warnings: string[] = [];
  const listener = (warning: Error): void => {
    warnings.push(warning.message);
  };
  process.on('warning', listener);
  try {
    await body();
    // Node emits process warnings on the next tick.
    await new Promise((resolve) => {
      process.nextTick(resolve);
    });
  } finally {
    process.off('warning', listener);
  }
  return warnings;
}

describe('the built-in descriptors', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    peerDependencies: Record<string, string>;
  };

  it("declare each client library with package.json's peer dependency range", () => {
    for (const descriptor of BUILT_IN_BACKENDS) {
      for (const dependency of descriptor.dependencies) {
        expect([descriptor.name, dependency.name, pkg.peerDependencies[dependency.name]]).toEqual([
          descriptor.name,
          dependency.name,
          dependency.versions,
        ]);
      }
    }
  });

  it('declare what the opened back-end reports about sharing', async () => {
    const context: BackendContext = { clock: Date.now, report: () => undefined };
    for (const name of ['memory', 'file', 'dbm']) {
      const descriptor = BUILT_IN_BACKENDS.find((candidate) => candidate.name === name);
      const backend = await descriptor?.create(
        { data_dir: `/tmp/beaker-descriptor-${process.pid}` },
        context,
      );
      expect({
        sharedAcrossProcesses: backend?.capabilities.sharedAcrossProcesses,
        sharedAcrossHosts: backend?.capabilities.sharedAcrossHosts,
      }).toEqual(descriptor?.capabilities);
      await backend?.close();
    }
  });
});

describe('the cross-process lock, chosen alike for sessions and caches', () => {
  /** A store that processes share but that has no locks of its own. */
  const sharedWithoutLocks = (_options: unknown, context: BackendContext): Backend => {
    const inner = memoryBackend({}, context) as Backend;
    return {
      type: 'shared',
      capabilities: { ...inner.capabilities, sharedAcrossProcesses: true },
      get: (namespace, key) => inner.get(namespace, key),
      set: (namespace, key, data, options) => inner.set(namespace, key, data, options),
      delete: (namespace, key) => inner.delete(namespace, key),
      keys: (namespace) => inner.keys(namespace),
      clear: (namespace) => inner.clear(namespace),
      close: () => inner.close(),
    };
  };

  it('takes file locks under lock_dir for a session of such a store', async () => {
    const lockDir = join(mkdtempSync(join(tmpdir(), 'beaker-descriptor-')), 'locks');
    const sessions = new SessionManager({
      type: 'shared',
      lock_dir: lockDir,
      secret: SECRET,
      backends: { shared: sharedWithoutLocks },
    });
    const session = sessions.session(undefined);
    await session.set('user', 'ada');
    await session.save();
    expect(existsSync(lockDir)).toBe(true);
    await sessions.close();
  });

  it('takes file locks under lock_dir for a cache of such a store', async () => {
    const lockDir = join(mkdtempSync(join(tmpdir(), 'beaker-descriptor-')), 'locks');
    const caches = new CacheManager({
      type: 'shared',
      lock_dir: lockDir,
      backends: { shared: sharedWithoutLocks },
    });
    await caches.getCache('ns').get('k', { createfunc: async () => 'v' });
    expect(existsSync(lockDir)).toBe(true);
    await caches.close();
  });
});
