/**
 * The package as a user gets it: `npm pack`, then `npm install` of the tarball into a fresh project next to the
 * current majors of its optional peers (no --force, no --legacy-peer-deps); the bin through its link, a TypeScript
 * consumer type-checked against the shipped declarations, and a script that imports every subpath and uses Redis and
 * PostgreSQL through the installed copy. Needs `npm run build` first (`npm test` runs it; without dist/, `npm pack`
 * builds through prepack) and the npm registry.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL, REDIS_URL } from '../helpers/server-stores.js';
import { describeWhenAvailable, unreachable } from '../helpers/services.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** The optional peers (and the typings an application adds), each at its current major: what a new user installs. */
const NEIGHBOURS = [
  'express',
  'fastify',
  'koa',
  'hono',
  '@hono/node-server',
  'ioredis',
  'redis',
  'memjs',
  'pg',
  'mysql2',
  'vitest',
  'typescript',
  '@types/node',
  '@types/express',
  '@types/koa',
].map((name) => `${name}@latest`);

interface PackageJson {
  name: string;
  bin: Record<string, string>;
  exports: Record<string, string | { types: string; default: string }>;
}

interface PackResult {
  filename: string;
  size: number;
  files: { path: string }[];
}

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as PackageJson;

/** The environment for a child npm: without the npm_* variables of an `npm test` around this run. */
function npmEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')));
}

/** Runs `command` in `cwd` and returns what it printed and its exit status. */
function run(command: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, encoding: 'utf8', env: npmEnvironment(), timeout: 120_000 });
}

/** `npm pack --json` of `directory` into `destination`: the one tarball's description. */
function pack(directory: string, destination: string, extra: string[]): PackResult {
  const packed = run('npm', ['pack', '--json', '--pack-destination', destination, ...extra], directory);
  if (packed.status !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
  // Output of prepack's build may come first; the JSON array is the last thing printed.
  const [result] = JSON.parse(packed.stdout.slice(packed.stdout.lastIndexOf('\n[') + 1)) as PackResult[];
  if (result === undefined) throw new Error(`npm pack printed no package:\n${packed.stdout}`);
  return result;
}

/** Every file a `files` entry or `exports`/`bin` target of package.json names, as a path in the tarball. */
function promisedFiles(): string[] {
  const targets = Object.values(pkg.exports).flatMap((target) =>
    typeof target === 'string' ? [target] : [target.types, target.default],
  );
  return [...targets, ...Object.values(pkg.bin), './dist/index.js', './dist/index.d.ts'].map((path) =>
    path.replace(/^\.\//, ''),
  );
}

const serversDown = await serversUnavailable();
const scratch = mkdtempSync(join(tmpdir(), 'beaker-installed-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('the packed package', () => {
  let packed: PackResult;
  let shipped: string[];

  beforeAll(() => {
    // After `npm run build` the scripts are not run again: prepack would only build a second time.
    const built = existsSync(join(REPO, 'dist', 'index.js'));
    packed = pack(REPO, scratch, built ? ['--ignore-scripts'] : []);
    shipped = packed.files.map((file) => file.path);
  });

  it('ships every file package.json points to, LICENSE and README.md', () => {
    expect(shipped).toEqual(
      expect.arrayContaining([...promisedFiles(), 'LICENSE', 'README.md', 'package.json']),
    );
  });

  it('ships no sources, tests, fixtures or source maps', () => {
    expect(
      shipped.filter((path) => /^(src|test|examples|bench|scripts)\/|fixtures|\.map$/.test(path)),
    ).toEqual([]);
    expect(shipped.filter((path) => !/^(dist|docs)\//.test(path)).sort()).toEqual([
      'CHANGELOG.md',
      'LICENSE',
      'README.md',
      'package.json',
    ]);
  });

  it('is built by npm pack in a checkout without dist/ (prepack)', () => {
    const checkout = join(scratch, 'checkout');
    const tracked = run('git', ['ls-files', '--cached', '--others', '--exclude-standard'], REPO)
      .stdout.split('\n')
      .filter((path) => path !== '' && existsSync(join(REPO, path)));
    for (const path of tracked) {
      mkdirSync(dirname(join(checkout, path)), { recursive: true });
      cpSync(join(REPO, path), join(checkout, path));
    }
    symlinkSync(join(REPO, 'node_modules'), join(checkout, 'node_modules'));
    const fresh = pack(checkout, scratch, ['--dry-run']);
    expect(fresh.files.map((file) => file.path).sort()).toEqual([...shipped].sort());
  }, 60_000);

  describe('installed in a fresh project next to the current majors of its peers', () => {
    const app = join(scratch, 'app');
    let install: SpawnSyncReturns<string>;
    const bin = (...args: string[]) => run(join(app, 'node_modules', '.bin', 'beaker-ts'), args, app);

    beforeAll(() => {
      mkdirSync(app);
      writeFileSync(
        join(app, 'package.json'),
        JSON.stringify({ name: 'beaker-ts-consumer', version: '1.0.0', private: true, type: 'module' }),
      );
      install = run(
        'npm',
        ['install', '--no-audit', '--no-fund', join(scratch, packed.filename), ...NEIGHBOURS],
        app,
      );
    }, 120_000);

    it('installs without --force or --legacy-peer-deps', () => {
      expect(install.stderr).not.toMatch(/ERESOLVE|peer dep/i);
      expect(install.status).toBe(0);
      const versions = (name: string) =>
        (
          JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8')) as {
            version: string;
          }
        ).version;
      // The majors this test is about: the ones npm refused before.
      expect(Number(versions('ioredis').split('.')[0])).toBeGreaterThanOrEqual(6);
      expect(Number(versions('vitest').split('.')[0])).toBeGreaterThanOrEqual(5);
    });

    it('runs the bin through its link: --help prints the usage and exits 0', () => {
      const help = bin('--help');
      expect(help.stdout).toMatch(/^usage: beaker-ts prune --config/);
      expect(help.status).toBe(0);
    });

    it('prunes through npx what an INI file configures', () => {
      writeFileSync(
        join(app, 'app.ini'),
        `[app:main]
beaker.session.type = file
beaker.session.data_dir = %(here)s/data/sessions
beaker.session.secret = an-installed-test-secret-of-32-bytes
beaker.cache.type = file
beaker.cache.data_dir = %(here)s/data/cache
`,
      );
      const pruned = run('npx', ['--no-install', 'beaker-ts', 'prune', '--config', 'app.ini'], app);
      expect(pruned.stderr).toBe('');
      expect(pruned.stdout).toMatch(/^removed 0 expired session\(s\) and 0 expired cache entr\(y\/ies\)/);
      expect(pruned.status).toBe(0);
    });

    it('exits 2 with the usage on stderr for a bad command', () => {
      const wrong = bin('purge', '--config', 'app.ini');
      expect(wrong.stdout).toBe('');
      expect(wrong.stderr).toMatch(/^beaker-ts: unknown command: purge\nusage: beaker-ts prune --config/);
      expect(wrong.status).toBe(2);
    });

    it.each([
      ['node16', { module: 'node16', moduleResolution: 'node16' }],
      ['bundler', { module: 'esnext', moduleResolution: 'bundler' }],
    ])(
      'type-checks TypeScript consumers against the shipped declarations (%s resolution)',
      (mode, resolution) => {
        writeFileSync(
          join(app, 'tsconfig.json'),
          JSON.stringify({
            compilerOptions: {
              ...resolution,
              target: 'es2022',
              strict: true,
              noEmit: true,
              skipLibCheck: false,
              types: ['node'],
            },
            // consumer.ts uses every subpath; typed-consumer.ts (test/types/fixtures/consumer.ts) every adapter with
            // session data declared once, and mistakes that must not compile.
            files: ['consumer.ts', 'typed-consumer.ts'],
          }),
        );
        copyFileSync(
          fileURLToPath(new URL('../types/fixtures/consumer.ts', import.meta.url)),
          join(app, 'typed-consumer.ts'),
        );
        writeFileSync(
          join(app, 'consumer.ts'),
          `import { createServer } from 'node:http';
import express from 'express';
import Koa from 'koa';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { CacheManager, SessionManager, type Session } from 'beaker-ts';
import { parseSessionConfigOptions } from 'beaker-ts/config';
import type { Backend } from 'beaker-ts/backends';
import { describeBackendConformance, type ConformanceTestRunner } from 'beaker-ts/testing';
import { SessionMiddleware } from 'beaker-ts/adapters/node-http';
import { sessionMiddleware } from 'beaker-ts/adapters/express';
import { withSession } from 'beaker-ts/adapters/fetch';
import { koaSession } from 'beaker-ts/adapters/koa';
import { fastifySession } from 'beaker-ts/adapters/fastify';

const sessions = new SessionManager(parseSessionConfigOptions({ 'session.type': 'memory' }));
const caches = new CacheManager({ type: 'memory' });
const cached: Promise<number | undefined> = caches.getCache<number>('n').get('k', { createfunc: () => 1 });
express().use(sessionMiddleware(sessions));
new Koa().use(koaSession(sessions));
void Fastify().register(fastifySession, { config: sessions });
const hono = new Hono();
export const handler: (request: Request) => Promise<Response> = withSession((request) => hono.fetch(request), sessions);
createServer(
  SessionMiddleware<{ visits: number }>(async (req, res) => {
    const visits: number = ((await req.session.get('visits')) ?? 0) + 1;
    await req.session.set('visits', visits);
    await req.session.save();
    res.end(String(visits));
  }, sessions),
);
export type Shapes = [Backend, ConformanceTestRunner, Session, typeof describeBackendConformance, typeof cached];
`,
        );
        const checked = run(join(app, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], app);
        // Only errors in the consumer or in beaker-ts's declarations count: another package's typings may disagree
        // with one of its own dependencies (@types/koa with content-disposition 2 did) without beaker-ts being wrong.
        const errors = checked.stdout
          .split('\n')
          .filter((line) => /^(consumer\.ts|typed-consumer\.ts|node_modules\/beaker-ts\/)/.test(line));
        expect(errors, mode).toEqual([]);
        expect(checked.stdout).not.toMatch(/^error/m);
      },
    );

    describeWhenAvailable('through Redis and PostgreSQL', serversDown, () => {
      it('imports every subpath, caches on ext:redis (node-redis and ioredis) and keeps a session on ext:database', () => {
        const subpaths = Object.keys(pkg.exports)
          .filter((subpath) => subpath !== './package.json')
          .map((subpath) => (subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`));
        writeFileSync(
          join(app, 'consumer.mjs'),
          `import { CacheManager, SessionManager } from 'beaker-ts';
const loaded = {};
for (const specifier of ${JSON.stringify(subpaths)}) loaded[specifier] = Object.keys(await import(specifier)).length;
const namespace = 'installed-' + process.pid + '-' + Date.now();
const cached = {};
for (const redis_module of ['redis', 'ioredis']) {
  const caches = new CacheManager({ type: 'ext:redis', url: ${JSON.stringify(REDIS_URL)}, redis_module });
  const cache = caches.getCache(namespace + '-' + redis_module);
  let creations = 0;
  const createfunc = () => ({ made: ++creations });
  cached[redis_module] = [await cache.get('k', { createfunc }), await cache.get('k', { createfunc }), creations];
  await cache.clear();
  await caches.close();
}
const sessions = new SessionManager({ type: 'ext:database', url: ${JSON.stringify(POSTGRES_URL)}, secret: 'an-installed-test-secret-of-32-bytes' });
const session = sessions.session(undefined);
await session.set('user', 'installed');
await session.save();
const stored = await sessions.getById(session.id);
const user = await stored?.get('user');
await stored?.delete();
await sessions.close();
console.log(JSON.stringify({ loaded, cached, user }));
`,
        );
        const consumer = run(process.execPath, ['consumer.mjs'], app);
        expect(consumer.stderr).toBe('');
        expect(consumer.status).toBe(0);
        const report = JSON.parse(consumer.stdout) as {
          loaded: Record<string, number>;
          cached: Record<string, unknown>;
          user: unknown;
        };
        expect(Object.keys(report.loaded).sort()).toEqual([...subpaths].sort());
        // Every subpath but the types-only beaker-ts/backends exports something.
        for (const [specifier, count] of Object.entries(report.loaded)) {
          if (specifier !== `${pkg.name}/backends`) expect(count, specifier).toBeGreaterThan(0);
        }
        expect(report.cached).toEqual({
          redis: [{ made: 1 }, { made: 1 }, 1],
          ioredis: [{ made: 1 }, { made: 1 }, 1],
        });
        expect(report.user).toBe('installed');
      });
    });
  });
});

/** Why Redis or PostgreSQL cannot be reached, or undefined when both answer. */
async function serversUnavailable(): Promise<string | undefined> {
  const redis = new URL(REDIS_URL);
  const postgres = new URL(POSTGRES_URL);
  return (
    (await unreachable(redis.hostname, Number(redis.port || 6379), 'Redis')) ??
    (await unreachable(postgres.hostname, Number(postgres.port || 5432), 'PostgreSQL'))
  );
}
