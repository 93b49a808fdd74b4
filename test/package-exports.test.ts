/**
 * The published package: every subpath in package.json `exports` resolves to a built file in dist/ that loads and
 * exports what its area promises. Needs `npm run build` first (`npm test` runs it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeWhenAvailable } from './helpers/services.js';

interface PackageJson {
  name: string;
  exports: Record<string, string | { types: string; default: string }>;
  peerDependencies: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as PackageJson;
const entries = Object.entries(pkg.exports).filter(
  (entry): entry is [string, { types: string; default: string }] => typeof entry[1] !== 'string',
);
const built = existsSync(new URL('../dist/index.js', import.meta.url));

/** Names each public subpath must export. */
const EXPECTED_EXPORTS: Record<string, string[]> = {
  '.': [
    'parseCacheConfigOptions',
    'parseSessionConfigOptions',
    'loadIniConfig',
    'ConfigError',
    'errors',
    'CacheManager',
  ],
  './config': [
    'parseCacheConfigOptions',
    'coerceSessionParams',
    'coerceCacheParams',
    'loadIniConfig',
    'asBool',
  ],
  './cache': ['CacheManager', 'Cache', 'encodeValue', 'decodeValue'],
  './backends': ['defineBackend', 'getEntries'],
  './backends/kit': [
    'defineBackend',
    'getEntries',
    'fetchByIds',
    'loadClient',
    'storeCommand',
    'ReadCoalescer',
    'LeaseLockProvider',
    'RowLeaseStore',
    'HostReleaseNotices',
  ],
  './backends/memory': ['memoryDescriptor'],
  './backends/file': ['fileDescriptor'],
  './backends/dbm': ['dbmDescriptor'],
  './backends/redis': ['redisDescriptor', 'redisClusterDescriptor'],
  './backends/memcached': ['memcachedDescriptor'],
  './backends/database': ['databaseDescriptor', 'sqlaDescriptor'],
  './backends/mongodb': ['mongodbDescriptor'],
  './backends/google': ['googleDescriptor'],
  './testing': ['describeBackendConformance'],
  './session': ['SessionManager', 'Session', 'SessionStoreError'],
  './adapters/node-http': ['SessionMiddleware', 'CacheMiddleware', 'attachSession'],
  './adapters/express': ['sessionMiddleware', 'cacheMiddleware'],
  './adapters/fetch': ['withSession', 'getSession', 'withCache', 'getCacheManager'],
  './adapters/koa': ['koaSession', 'koaCache'],
  './adapters/fastify': ['fastifySession', 'fastifyCache'],
};

describeWhenAvailable(
  'package exports',
  built ? undefined : 'dist/ is not built: run `npm run build`',
  () => {
    it('lists an expectation for every subpath', () => {
      expect(entries.map(([subpath]) => subpath).sort()).toEqual(Object.keys(EXPECTED_EXPORTS).sort());
    });

    it.each(entries)('%s resolves to built JavaScript and declarations', async (subpath, target) => {
      expect(existsSync(new URL(`../${target.default}`, import.meta.url))).toBe(true);
      expect(existsSync(new URL(`../${target.types}`, import.meta.url))).toBe(true);
      const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
      const loaded = (await import(specifier)) as Record<string, unknown>;
      for (const name of EXPECTED_EXPORTS[subpath] ?? []) expect(loaded).toHaveProperty(name);
    });

    it.each(['beaker-ts', 'beaker-ts/backends/redis', 'beaker-ts/backends/database'])(
      'importing %s loads no back-end implementation and no client library',
      (specifier) => {
        const loaded = modulesLoadedBy(specifier);
        expect(loaded.some((url) => url.includes('/dist/shared/'))).toBe(true);
        expect(
          loaded.filter((url) => /\/dist\/backends\/[a-z]+\/(index|clients|sql-client)\.js$/.test(url)),
        ).toEqual([]);
        const clients = Object.keys(pkg.peerDependencies).map((name) => `/node_modules/${name}/`);
        expect(loaded.filter((url) => clients.some((client) => url.includes(client)))).toEqual([]);
      },
    );
  },
);

/** The URLs of the modules that importing `specifier` loads, recorded by a resolve hook in a child process. */
function modulesLoadedBy(specifier: string): string[] {
  const hook = `export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.startsWith('file:')) process.stderr.write('LOADED ' + r.url + '\\n'); return r; }`;
  const register = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`;
  const child = spawnSync(
    process.execPath,
    [
      '--import',
      `data:text/javascript,${encodeURIComponent(register)}`,
      '--input-type=module',
      '-e',
      `await import('${specifier}');`,
    ],
    { cwd: new URL('..', import.meta.url), encoding: 'utf8' },
  );
  expect(child.status, child.stderr).toBe(0);
  return child.stderr
    .split('\n')
    .filter((line) => line.startsWith('LOADED '))
    .map((line) => line.slice('LOADED '.length));
}
