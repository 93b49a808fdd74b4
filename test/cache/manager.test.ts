import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  CacheManager,
  ConfigError,
  ManagerClosedError,
  NamespaceConflictError,
  RegionNotConfiguredError,
  UnknownBackendError,
  parseCacheConfigOptions,
  type CacheEvent,
} from '../../src/index.js';
import { ManualTimers } from '../helpers/manual-timers.js';

class ManualClock {
  now = Date.parse('2030-01-01T00:00:00Z');
  readonly read = (): number => this.now;
  advance(seconds: number): void {
    this.now += seconds * 1000;
  }
}

const managers: CacheManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((manager) => manager.close()));
});

function managerFrom(config: Record<string, unknown>, clock = new ManualClock()): CacheManager {
  const manager = new CacheManager({
    ...parseCacheConfigOptions(config),
    clock: clock.read,
    onEvent: () => undefined,
  });
  managers.push(manager);
  return manager;
}

function counter(): { next: (...args: unknown[]) => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    next: (...args: unknown[]) => Promise.resolve(`${(calls += 1)}:${JSON.stringify(args)}`),
    calls: () => calls,
  };
}

describe('CacheManager from a Beaker configuration', () => {
  it('decorates with a region, caches per argument and expires (spec §5.4 case 47)', async () => {
    const clock = new ManualClock();
    const dir = mkdtempSync(join(tmpdir(), 'beaker-manager-'));
    const manager = managerFrom(
      {
        'cache.data_dir': dir,
        'cache.type': 'dbm',
        'cache.expire': '2',
        'cache.regions': 'short_term, long_term',
        'cache.short_term.expire': '2',
      },
      clock,
    );
    const { next } = counter();
    const load = manager.region(
      'short_term',
      'region_loader',
    )(async function load(name: string) {
      return next(name);
    });
    const fred = await load('Fred');
    expect(fred).toContain('Fred');
    expect(await load('Fred')).toBe(fred);
    expect(await load('George')).not.toBe(fred);
    clock.advance(2);
    expect(await load('Fred')).not.toBe(fred);
  });

  it('decorates with cache() using the manager defaults (spec §5.4 case 48)', async () => {
    const clock = new ManualClock();
    const manager = managerFrom({ 'cache.expire': '2' }, clock);
    const { next } = counter();
    const load = manager.cache('loader')(async function load(name: string) {
      return next(name);
    });
    const fred = await load('Fred');
    expect(await load('Fred')).toBe(fred);
    clock.advance(2);
    expect(await load('Fred')).not.toBe(fred);
  });

  it('invalidates one call of a region function (spec §5.4 case 49)', async () => {
    const manager = managerFrom({ 'cache.regions': 'short_term' });
    const { next, calls } = counter();
    const load = manager.region(
      'short_term',
      'region_loader',
    )(async function load(name: string) {
      return next(name);
    });
    const first = await load('Fred');
    await manager.regionInvalidate(load, undefined, 'Fred');
    const second = await load('Fred');
    expect(second).not.toBe(first);
    expect(await load('Fred')).toBe(second);
    await manager.regionInvalidate(load, undefined, 'Fredd');
    expect(calls()).toBe(2);
  });

  it('invalidates by namespace and region with the full key parts', async () => {
    const manager = managerFrom({ 'cache.regions': 'r' });
    const { next } = counter();
    const load = manager.region(
      'r',
      'prefix',
    )(async function loadByName(name: string) {
      return next(name);
    });
    const first = await load('x');
    await manager.regionInvalidate('loadByName', 'r', 'prefix', 'x');
    expect(await load('x')).not.toBe(first);
    await expect(manager.regionInvalidate('loadByName')).rejects.toThrow(
      'Region or callable function namespace is required',
    );
  });

  it('invalidates a cache() function with its own options (spec §5.4 case 50)', async () => {
    const manager = managerFrom({});
    const { next } = counter();
    const load = manager.cache('loader', { type: 'memory', expire: 60 })(async function load(name: string) {
      return next(name);
    });
    const first = await load('Fred');
    await manager.invalidate(load, 'Fred');
    expect(await load('Fred')).not.toBe(first);
  });

  it('hashes long keys and still invalidates them (spec §5.4 case 51)', async () => {
    const manager = managerFrom({});
    const { next } = counter();
    const load = manager.cache('loader')(async function load(name: string) {
      return next(name);
    });
    const long = 'Fred'.repeat(250);
    const first = await load(long);
    expect(await load(long)).toBe(first);
    const keys = await manager.getCache('load').keys();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^sha256:[\w-]{43}$/);
    await manager.invalidate(load, long);
    expect(await load(long)).not.toBe(first);
  });

  it('counts key length in UTF-8 bytes', async () => {
    const manager = managerFrom({ 'cache.key_length': '60' });
    const identity = manager.cache()(async function identity(text: string) {
      return text;
    });
    // 30 characters either way; in UTF-8, with the namespace and the JSON brackets: 72 bytes, over 60, and 42.
    await identity('é'.repeat(30));
    await identity('e'.repeat(30));
    const keys = await manager.getCache('identity').keys();
    expect(keys.filter((key) => key.startsWith('sha256:'))).toHaveLength(1);
  });

  it('stores a call under the key it always had, repeated calls included, and invalidates it', async () => {
    const manager = managerFrom({});
    const { next, calls } = counter();
    const load = manager.cache(
      'users',
      2,
    )(async function load(id: unknown) {
      return next(id);
    });
    const byId = manager.cache({ namespace: 'byId', key: (args) => [(args[0] as { id: number }).id] })(
      async function byIdLoad(user: { id: number }) {
        return next(user.id);
      },
    );
    for (const round of [1, 2]) {
      for (const id of [42, '42', true, null, -0]) await load(id);
      await byId({ id: 7 });
      expect(calls(), `round ${round}`).toBe(6);
    }
    // The keys Beaker-compatible stores already hold: the key parts, then the argument, as a JSON array.
    expect((await manager.getCache('load').keys()).sort()).toEqual(
      ['["users",2,42]', '["users",2,"42"]', '["users",2,true]', '["users",2,null]', '["users",2,0]'].sort(),
    );
    expect(await manager.getCache('byId').keys()).toEqual(['[7]']);
    await manager.invalidate(load, 42);
    await load(42);
    expect(calls()).toBe(7);
  });

  it('keeps functions of different names apart (spec §5.4 case 53)', async () => {
    const manager = managerFrom({ 'cache.regions': 'r' });
    const { next } = counter();
    const one = manager.region('r')(async function one(x: number) {
      return next('one', x);
    });
    const two = manager.region('r')(async function two(x: number) {
      return next('two', x);
    });
    expect(await one(1)).not.toBe(await two(1));
  });

  it('never lets f(1) and f("1"), or f("a b") and f("a", "b"), share a key', async () => {
    const manager = managerFrom({});
    const { next, calls } = counter();
    const f = manager.cache()(async function f(...args: unknown[]) {
      return next(...args);
    });
    const results = [
      await f(1),
      await f('1'),
      await f('a b'),
      await f('a', 'b'),
      await f(true),
      await f('true'),
      await f(null),
    ];
    expect(new Set(results).size).toBe(results.length);
    expect(calls()).toBe(7);
    // The same call hits; object keys in any order are the same call; a trailing undefined is no argument.
    await f({ a: 1, b: 2 });
    await f({ b: 2, a: 1 });
    await f(1, undefined);
    expect(calls()).toBe(8);
  });

  it('refuses arguments with no stable identity, unless { key } chooses', async () => {
    const manager = managerFrom({});
    class Request {
      constructor(readonly id: number) {}
    }
    const handle = manager.cache()(async function handle(request: Request) {
      return request.id;
    });
    await expect(handle(new Request(1))).rejects.toThrow(
      /an instance of Request cannot be part of a cache key/,
    );
    const keyed = manager.cache({ key: (args) => [(args[0] as Request).id] })(async function keyed(
      request: Request,
    ) {
      return request.id * 10;
    });
    expect(await keyed(new Request(2))).toBe(20);
  });

  it('reports two different functions that would share keys', () => {
    const manager = managerFrom({ 'cache.regions': 'r' });
    manager.region('r')(async function load() {
      return 1;
    });
    expect(() =>
      manager.region('r')(async function load() {
        return 2;
      }),
    ).toThrow(NamespaceConflictError);
    // Different key prefixes or an explicit namespace keep them apart.
    manager.region(
      'r',
      'other',
    )(async function load() {
      return 3;
    });
    manager.region('r', { namespace: 'load.v2' })(async function load() {
      return 4;
    });
  });

  it('asks for a namespace when a function has no name', () => {
    const manager = managerFrom({});
    expect(() => manager.cache()(async () => 1)).toThrow(ConfigError);
    expect(() => manager.cache({ namespace: 'anon' })(async () => 1)).not.toThrow();
  });

  it('keeps the wrapped function’s name (spec §5.4 case 62)', () => {
    const manager = managerFrom({ 'cache.regions': 'r' });
    const wrapped = manager.region('r')(async function myFunction() {
      return 1;
    });
    expect(wrapped.name).toBe('myFunction');
  });

  it('round-trips unicode arguments (spec §5.4 cases 66-68)', async () => {
    const manager = managerFrom({});
    const identity = manager.cache('foo')(async function identity(text: string) {
      return text;
    });
    for (const text of [
      'Espanol',
      'Español',
      'Espaáol',
      'ليهمابتكلموشعربي؟',
      '他们为什么不说中文',
      'Почемужеонинеговорятпорусски',
      'Tạisaohọkhôngthểchỉnóitiếngviệt',
    ]) {
      expect(await identity(text)).toBe(text);
    }
    await manager.invalidate(identity);
  });

  it('fails clearly for unknown regions and back-ends', () => {
    const manager = managerFrom({ 'cache.regions': 'short_term' });
    expect(() => manager.region('shrt_term')).toThrow(RegionNotConfiguredError);
    expect(() => manager.region('shrt_term')).toThrow(
      'Cache region not configured: shrt_term (configured regions: short_term)',
    );
    expect(() => manager.getCacheRegion('ns', 'nope')).toThrow(RegionNotConfiguredError);
    expect(() => manager.getCache('ns', { type: 'fake' })).toThrow(UnknownBackendError);
    expect(() => manager.getCache('ns', { type: 'flie' })).toThrow(
      "Unknown cache implementation 'flie'. Did you mean 'file'?",
    );
  });

  it('validates options given in code like options from a file', () => {
    const manager = managerFrom({});
    expect(() => manager.getCache('ns', { expire: 'soon' })).toThrow(
      'expire must be an integer representing how many seconds the cache is valid for',
    );
    expect(() => new CacheManager({ expire: -1 })).toThrow(ConfigError);
    expect(() => new CacheManager({ expire: 0 })).toThrow('expire must be an integer');
  });

  it('accepts a region whose expire is a string (spec §5.2 case 29)', async () => {
    const manager = new CacheManager({
      cache_regions: { r: { expire: '60' as unknown as number, type: 'memory' } },
    });
    managers.push(manager);
    const { next, calls } = counter();
    const f = manager.region('r')(async function regionDefaultKeyLength(x: number) {
      return next(x);
    });
    expect(await f(1)).toBe(await f(1));
    await f(2);
    expect(calls()).toBe(2);
  });

  it('honours enabled = false everywhere: regions, cache() and getCache (Beaker only did regions)', async () => {
    const manager = managerFrom({ 'cache.enabled': 'false', 'cache.regions': 'r' });
    const { next, calls } = counter();
    const inRegion = manager.region('r')(async function inRegion() {
      return next();
    });
    const decorated = manager.cache()(async function decorated() {
      return next();
    });
    await inRegion();
    await inRegion();
    await decorated();
    await decorated();
    const cache = manager.getCache('plain');
    await cache.put('k', 1);
    expect(await cache.get('k')).toBeUndefined();
    expect(calls()).toBe(4);
    expect(cache.enabled).toBe(false);
  });

  it('gives regions of one manager to that manager only', () => {
    managerFrom({ 'cache.regions': 'only_here' });
    const other = managerFrom({});
    expect(() => other.region('only_here')).toThrow(RegionNotConfiguredError);
  });

  it('shares one back-end between caches of the same store, so their data meet', async () => {
    const manager = managerFrom({ 'cache.regions': 'a, b', 'cache.a.expire': '10', 'cache.b.expire': '20' });
    await manager.getCacheRegion('ns', 'a').put('k', 'from a');
    expect(await manager.getCacheRegion('ns', 'b').get('k')).toBe('from a');
  });

  it('reads file caches written by another manager, and survives its directory being removed (spec §5.2 case 27)', async () => {
    const { rmSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'beaker-manager-'));
    const config = {
      'cache.type': 'file',
      'cache.data_dir': join(dir, 'data'),
      'cache.lock_dir': join(dir, 'lock'),
    };
    const { next } = counter();
    const load = managerFrom(config).cache('x')(async function survive() {
      return next();
    });
    const first = await load();
    expect(await load()).toBe(first);
    expect(
      await managerFrom(config)
        .getCache('survive')
        .get(JSON.stringify(['x'])),
    ).toBe(first);
    rmSync(dir, { recursive: true, force: true });
    expect(await load()).not.toBe(first);
  });

  it('reports a lock it waited too long for and creates the value itself', async () => {
    const events: CacheEvent[] = [];
    const timers = new ManualTimers();
    const manager = new CacheManager({ lock_timeout: 1, timers, onEvent: (event) => events.push(event) });
    managers.push(manager);
    const cache = manager.getCache<string>('slow');
    let finishSlow!: (value: string) => void;
    const stuck = cache.get('k', {
      createfunc: () => new Promise<string>((resolve) => (finishSlow = resolve)),
    });
    let impatient: string | undefined;
    void cache.get('k', { createfunc: () => 'impatient' }).then((value) => (impatient = value));
    // The back-end module loads first (real I/O): the wait starts when its timer is scheduled.
    await vi.waitFor(
      () => {
        expect(timers.pendingCount).toBe(1);
      },
      { interval: 1, timeout: 5000 },
    );
    await timers.advance(999);
    expect(impatient).toBeUndefined();
    await timers.advance(1);
    expect(impatient).toBe('impatient');
    expect(events.map((event) => event.type)).toEqual(['lock-timeout']);
    finishSlow('slow');
    expect(await stuck).toBe('slow');
  });

  it('warns by default about a store that is down once per 10 s, not once per call', async () => {
    const clock = new ManualClock();
    const warnings: (Error & { code?: string })[] = [];
    const collect = (warning: Error): void => {
      if (warning.name === 'BeakerCacheWarning') warnings.push(warning);
    };
    process.on('warning', collect);
    // Nothing listens on port 1: the store cannot be reached, and every read falls back to the creator.
    const manager = new CacheManager({ type: 'ext:redis', url: 'redis://127.0.0.1:1/0', clock: clock.read });
    managers.push(manager);
    const cache = manager.getCache<string>('down');
    const readAll = async (): Promise<void> => {
      for (let index = 0; index < 20; index += 1)
        expect(await cache.get(`k${String(index)}`, { createfunc: () => 'created' })).toBe('created');
      // Warnings are delivered on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
    };
    await readAll();
    clock.advance(9);
    await readAll();
    expect(warnings).toHaveLength(1);
    clock.advance(1);
    await readAll();
    process.off('warning', collect);
    expect(warnings.map((warning) => warning.code)).toEqual(['BEAKER_BACKEND_ERROR', 'BEAKER_BACKEND_ERROR']);
    expect(warnings[0]?.message).toContain('[ext:redis] the cache store failed to read');
    expect(warnings[1]?.message).toContain('(39 more like it since the last such warning were not shown)');
  });

  it('cannot be used after close()', async () => {
    const manager = managerFrom({});
    await manager.getCache('ns').put('k', 1);
    const decorated = manager.cache()(async function usedBeforeClose() {
      return 1;
    });
    expect(await decorated()).toBe(1);
    await manager.close();
    expect(() => manager.getCache('ns')).toThrow(ManagerClosedError);
    await expect(decorated()).rejects.toThrow(ManagerClosedError);
    await manager.close();
  });

  it('prunes expired entries of the back-ends it opened', async () => {
    const clock = new ManualClock();
    const manager = managerFrom({ 'cache.grace': '0' }, clock);
    const cache = manager.getCache('p');
    await cache.put('old', 1, { expiretime: 1 });
    await cache.put('kept', 2);
    clock.advance(5);
    expect(await manager.prune()).toBe(1);
    expect(await cache.get('kept')).toBe(2);
  });
});

describe('cached methods (TypeScript 5 decorators)', () => {
  const manager = new CacheManager({ cache_regions: { short_term: { type: 'memory', expire: 60 } } });
  afterAll(() => manager.close());

  it('shares results between instances: the instance is not part of the key (spec §5.4 cases 57-61)', async () => {
    const { Repository } = defineRepository(await compileFixture(), manager);
    const first = await new Repository('a').go(1, 2);
    expect(await new Repository('b').go(1, 2)).toBe(first);
    expect(
      await manager.getCacheRegion('Repository.go', 'short_term').get(JSON.stringify(['method', 1, 2])),
    ).toBe(first);
    await manager.regionInvalidate(new Repository('c').go, undefined, 1, 2);
    expect(await new Repository('d').go(1, 2)).not.toBe(first);
  });

  it('caches static methods under the class name', async () => {
    const { Repository } = defineRepository(await compileFixture(), manager);
    const first = await Repository.build(3);
    expect(await Repository.build(3)).toBe(first);
    expect(await manager.getCache('Repository.build').keys()).toEqual([JSON.stringify(['static', 3])]);
  });
});

type FixtureModule = typeof import('./fixtures/decorated-repository.js');
let compiled: Promise<FixtureModule> | undefined;

/** Compiles the decorator fixture with TypeScript (the test runner's transformer does not lower TS 5 decorators). */
function compileFixture(): Promise<FixtureModule> {
  compiled ??= (async () => {
    const loaded: typeof import('typescript') & { default?: typeof import('typescript') } =
      await import('typescript');
    const ts = loaded.default ?? loaded;
    const { readFileSync, writeFileSync } = await import('node:fs');
    const source = readFileSync(new URL('./fixtures/decorated-repository.ts', import.meta.url), 'utf8');
    const output = ts.transpileModule(source, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    }).outputText;
    const file = join(mkdtempSync(join(tmpdir(), 'beaker-decorators-')), 'decorated-repository.mjs');
    writeFileSync(file, output);
    return (await import(file)) as FixtureModule;
  })();
  return compiled;
}

function defineRepository(
  fixture: FixtureModule,
  manager: CacheManager,
): ReturnType<FixtureModule['defineRepository']> {
  return fixture.defineRepository(manager);
}
