/**
 * The published package: every subpath in package.json `exports` resolves to a built file in dist/ that loads and
 * exports what its area promises. Needs `npm run build` first (`npm test` runs it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeWhenAvailable } from './helpers/services.js';

interface PackageJson {
  name: string;
  exports: Record<string, string | { types: string; default: string }>;
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
  // Types only: the back-end contract.
  './backends': [],
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
  },
);
