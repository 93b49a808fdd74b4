/**
 * Client libraries that are not installed: `redis_module = auto` and `memcache_module = auto` fall back to the other
 * library, and with neither installed the error names the package to install. Each case runs in a child process
 * whose module resolution refuses the listed packages, exactly as Node does when they are absent.
 */
import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { describeWhenAvailable, unreachable } from '../helpers/services.js';

const REDIS_URL = process.env.BEAKER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/3';
const redisAddress = new URL(REDIS_URL);

/** A resolve hook that fails the `absent` packages as Node fails a package that is not installed. */
function hookFor(absent: string[]): string {
  const hook = `
    const absent = ${JSON.stringify(absent)};
    export async function resolve(specifier, context, next) {
      if (absent.includes(specifier)) {
        const error = new Error("Cannot find package '" + specifier + "'");
        error.code = 'ERR_MODULE_NOT_FOUND';
        throw error;
      }
      return next(specifier, context);
    }`;
  return `data:text/javascript,${encodeURIComponent(
    `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`,
  )}`;
}

interface Outcome {
  ok: boolean;
  name?: string;
  packageName?: string;
  message?: string;
  value?: unknown;
}

/** Runs `body` (which prints one JSON line) as an ES module in a child whose module resolution refuses `absent`. */
function runWithout(absent: string[], body: string): Outcome {
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--import', hookFor(absent), '--input-type=module', '-e', body],
    { encoding: 'utf8', timeout: 30_000 },
  );
  const line = child.stdout.trim().split('\n').at(-1) ?? '';
  if (!line.startsWith('{')) throw new Error(`the child printed no outcome: ${child.stdout}${child.stderr}`);
  return JSON.parse(line) as Outcome;
}

/** Opens the back-end `factory` of `module` with `options` in a child without `absent`; stores and reads a value. */
function openWithout(absent: string[], module: string, factory: string, options: object): Outcome {
  const script = `
    const { ${factory} } = await import(${JSON.stringify(new URL(module, import.meta.url).href)});
    try {
      const backend = await ${factory}(${JSON.stringify(options)}, { clock: Date.now, report: () => undefined });
      await backend.set('missing-clients', 'k', 'stored', { ttlMs: 10000 });
      const value = await backend.get('missing-clients', 'k');
      await backend.close();
      console.log(JSON.stringify({ ok: true, value }));
    } catch (error) {
      console.log(JSON.stringify({ ok: false, name: error.name, packageName: error.packageName, message: error.message }));
    }
    process.exit(0);`;
  return runWithout(absent, script);
}

const REDIS_MODULE = '../../src/backends/redis/index.ts';
const MEMCACHED_MODULE = '../../src/backends/memcached/index.ts';
// Nothing listens there: the error can only be about the packages.
const CLOSED_MEMCACHED = '127.0.0.1:1';

/** Where each back-end's factory is, the option that picks its client library, and the libraries (preferred first). */
const REDIS = {
  type: 'ext:redis',
  module: REDIS_MODULE,
  factory: 'redisBackend',
  option: 'redis_module',
  url: REDIS_URL,
  libraries: ['redis', 'ioredis'],
};
const MEMCACHED = {
  type: 'ext:memcached',
  module: MEMCACHED_MODULE,
  factory: 'memcachedBackend',
  option: 'memcache_module',
  url: CLOSED_MEMCACHED,
  libraries: ['memjs', 'memcached'],
};

const install = (name: string): string => `install it with \`npm install ${name}\``;

// For each back-end: auto with neither library installed, then each library named but not installed.
const cases = [REDIS, MEMCACHED].flatMap((store) => {
  const [preferred = '', fallback = ''] = store.libraries;
  return [
    {
      store,
      value: 'auto',
      absent: store.libraries,
      message: `The ${store.type} back-end needs the package "${preferred}": ${install(preferred)} (or \`npm install ${fallback}\`)`,
    },
    ...store.libraries.map((library) => ({
      store,
      value: library,
      absent: [library],
      message: `The ${store.type} back-end with ${store.option} = ${library} needs the package "${library}": ${install(library)}`,
    })),
  ];
});

it.each(cases)(
  '$store.option = $value with $absent not installed names the package to install',
  ({ store, value, absent, message }) => {
    const outcome = openWithout(absent, store.module, store.factory, {
      url: store.url,
      [store.option]: value,
    });
    // The package named is the option's, or for auto the preferred one.
    expect(outcome).toEqual({ ok: false, name: 'MissingDependencyError', packageName: absent[0], message });
  },
);

const [memcachedHost = '', memcachedPort = '11211'] = (
  (process.env.BEAKER_TEST_MEMCACHED_URL ?? '127.0.0.1:11211').split(';')[0] ?? ''
).split(':');

for (const { store, absent, other, url, unavailable } of [
  {
    store: REDIS,
    absent: 'redis',
    other: 'ioredis',
    url: REDIS_URL,
    unavailable: await unreachable(redisAddress.hostname, Number(redisAddress.port || 6379), 'Redis'),
  },
  {
    store: MEMCACHED,
    absent: 'memjs',
    other: 'the memcached library',
    url: `${memcachedHost}:${memcachedPort}`,
    unavailable: await unreachable(memcachedHost, Number(memcachedPort), 'memcached'),
  },
]) {
  describeWhenAvailable(`${store.option} = auto without ${absent}`, unavailable, () => {
    it(`falls back to ${other} and works`, () => {
      expect(openWithout([absent], store.module, store.factory, { url })).toEqual({
        ok: true,
        value: 'stored',
      });
    });
  });
}

// A store that cannot exist is an error at start-up and on every call, never a store "down" served around: before,
// each call warned "[unknown] the cache store failed to read" and ran the creator (21 calls, 21 creations).
it('a cache on ext:memcached with no memcached library fails ready() and every call, and runs no creator', () => {
  const script = `
    const { CacheManager } = await import(${JSON.stringify(new URL('../../src/index.ts', import.meta.url).href)});
    const events = [];
    const manager = new CacheManager({
      type: 'ext:memcached',
      url: '${CLOSED_MEMCACHED}',
      cache_regions: { short: { type: 'ext:memcached', url: '${CLOSED_MEMCACHED}', expire: 60 } },
      onEvent: (event) => events.push(event.type),
    });
    const failure = (error) => error.name + ': ' + error.packageName;
    const ready = await manager.ready().then(() => 'resolved', failure);
    let creations = 0;
    const calls = [];
    for (let call = 0; call < 21; call += 1) {
      calls.push(await manager.getCache('ns').get('k', { createfunc: async () => (creations += 1) }).then(String, failure));
    }
    const invalidated = await manager.regionInvalidate('ns', 'short', 1).then(() => 'resolved', failure);
    console.log(JSON.stringify({ ok: true, value: { ready, calls: [...new Set(calls)], creations, invalidated, events } }));
    process.exit(0);`;
  const failure = 'MissingDependencyError: memjs';
  expect(runWithout(['memjs', 'memcached'], script)).toEqual({
    ok: true,
    value: { ready: failure, calls: [failure], creations: 0, invalidated: failure, events: [] },
  });
});

it('sessions on ext:redis with no Redis library fail ready(), and a request gets the error itself, not a 503', () => {
  const script = `
    const { SessionManager } = await import(${JSON.stringify(new URL('../../src/index.ts', import.meta.url).href)});
    const manager = new SessionManager({ type: 'ext:redis', url: 'redis://127.0.0.1:1/0', secret: 'a-test-secret-of-at-least-32-bytes-0123456789' });
    const failure = (error) => error.name + ': ' + error.packageName;
    const ready = await manager.ready().then(() => 'resolved', failure);
    const session = manager.session(undefined);
    await session.set('user', 'ada');
    const save = await session.save().then(() => 'saved', failure);
    console.log(JSON.stringify({ ok: true, value: { ready, save } }));
    process.exit(0);`;
  const failure = 'MissingDependencyError: redis';
  expect(runWithout(['redis', 'ioredis'], script)).toEqual({
    ok: true,
    value: { ready: failure, save: failure },
  });
});
