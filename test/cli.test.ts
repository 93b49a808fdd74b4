/** `beaker-ts prune --config file.ini`: removes expired sessions and cache entries of the configured file/dbm stores. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { main } from '../src/cli.js';
import {
  CacheManager,
  SessionManager,
  loadIniConfig,
  parseCacheConfigOptions,
  parseSessionConfigOptions,
} from '../src/index.js';

it('prunes the expired sessions and cache entries an INI file configures', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'beaker-cli-'));
  const ini = join(dir, 'app.ini');
  writeFileSync(
    ini,
    `[app:main]
beaker.session.type = file
beaker.session.data_dir = %(here)s/sessions
beaker.session.secret = a-cli-test-secret-of-at-least-32-bytes
beaker.session.absolute_timeout = 1
beaker.cache.type = file
beaker.cache.data_dir = %(here)s/cache
beaker.cache.grace = 0
beaker.cache.regions = long
beaker.cache.long.type = dbm
beaker.cache.long.grace = 0
`,
  );
  const config = await loadIniConfig(ini);
  const sessions = new SessionManager(parseSessionConfigOptions(config));
  const caches = new CacheManager(parseCacheConfigOptions(config));
  const session = sessions.session<{ n: number }>(undefined);
  await session.set('n', 1);
  await session.save();
  await caches.getCache('c').put('old', 1, { expiretime: 1 });
  await caches.getCache('c').put('kept', 2);
  await caches.getCacheRegion('r', 'long').put('old', 3, { expiretime: 1 });
  await Promise.all([sessions.close(), caches.close()]);
  await sleep(1100);
  const lines: string[] = [];
  expect(await main(['prune', '--config', ini], (line) => lines.push(line))).toBe(0);
  expect(lines).toEqual(['removed 1 expired session(s) and 2 expired cache entr(y/ies) or leftovers']);
  const after = new CacheManager(parseCacheConfigOptions(config));
  expect(await after.getCache('c').get('kept')).toBe(2);
  await after.close();
});

it('prints its usage for a wrong command, and runs as a program', async () => {
  const lines: string[] = [];
  expect(await main(['purge'], (line) => lines.push(line))).toBe(2);
  expect(lines[0]).toMatch(/^usage: beaker-ts prune --config/);
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', new URL('../src/cli.ts', import.meta.url).pathname, '--help'],
    {
      encoding: 'utf8',
    },
  );
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(/^usage: beaker-ts prune/);
});
