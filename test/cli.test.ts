/** `beaker-ts prune --config file.ini`: removes expired sessions and cache entries of the configured file/dbm stores. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main, type CliOutput } from '../src/cli.js';
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
  // Written 2 s ago with a 1 s lifetime: expired for the real clock prune reads, without waiting for it.
  const twoSecondsAgo = (): number => Date.now() - 2000;
  const sessions = new SessionManager({ ...parseSessionConfigOptions(config), clock: twoSecondsAgo });
  const caches = new CacheManager({ ...parseCacheConfigOptions(config), clock: twoSecondsAgo });
  const session = sessions.session<{ n: number }>(undefined);
  await session.set('n', 1);
  await session.save();
  await caches.getCache('c').put('old', 1, { expiretime: 1 });
  await caches.getCache('c').put('kept', 2);
  await caches.getCacheRegion('r', 'long').put('old', 3, { expiretime: 1 });
  await Promise.all([sessions.close(), caches.close()]);
  const { output, out, errors } = recordingOutput();
  expect(await main(['prune', '--config', ini], output)).toBe(0);
  expect(errors).toEqual([]);
  expect(out).toEqual(['removed 1 expired session(s) and 2 expired cache entr(y/ies) or leftovers']);
  const after = new CacheManager(parseCacheConfigOptions(config));
  expect(await after.getCache('c').get('kept')).toBe(2);
  await after.close();
});

it('prints its usage on stdout for --help and exits 0', async () => {
  const { output, out, errors } = recordingOutput();
  expect(await main(['--help'], output)).toBe(0);
  expect(out).toEqual([expect.stringMatching(/^usage: beaker-ts prune --config/)]);
  expect(errors).toEqual([]);
});

it.each([
  ['an unknown command', ['purge', '--config', 'app.ini']],
  ['no command', []],
  ['prune without --config', ['prune']],
  ['an extra argument', ['prune', 'extra', '--config', 'app.ini']],
  ['--config without its file', ['prune', '--config']],
  ['an unknown option', ['prune', '--config', 'app.ini', '--verbose']],
])('prints its usage on stderr and exits 2 for %s', async (_label, argv) => {
  const { output, out, errors } = recordingOutput();
  expect(await main(argv, output)).toBe(2);
  expect(out).toEqual([]);
  expect(errors.at(-1)).toMatch(/^usage: beaker-ts prune --config/);
});

// npm installs the bin as a link named `beaker-ts` (node_modules/.bin/beaker-ts -> ../beaker-ts/dist/bin.js): the
// program must run however it is named.
describe('the program, run through a link named like the installed bin', () => {
  const bin = join(mkdtempSync(join(tmpdir(), 'beaker-cli-bin-')), 'node_modules', '.bin', 'beaker-ts');
  mkdirSync(dirname(bin), { recursive: true });
  symlinkSync(new URL('../src/bin.ts', import.meta.url).pathname, bin);
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', bin, ...args], { encoding: 'utf8' });

  it('prints its usage for --help and exits 0', () => {
    const result = run('--help');
    expect(result.stdout).toMatch(/^usage: beaker-ts prune --config/);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('exits 2 with its usage on stderr for an unknown option, without a stack trace', () => {
    const result = run('prune', '--nope');
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/Unknown option '--nope'[^]*\nusage: beaker-ts prune --config/);
    expect(result.stderr).not.toMatch(/\bat .*\.(ts|js):\d+/);
    expect(result.status).toBe(2);
  });

  it('exits 1 with the message for a config file that does not exist', () => {
    const result = run('prune', '--config', join(tmpdir(), 'beaker-cli-no-such-file.ini'));
    expect(result.stderr).toMatch(/^beaker-ts: .*beaker-cli-no-such-file\.ini/);
    expect(result.status).toBe(1);
  });
});

/** A {@link CliOutput} that keeps the lines it is given. */
function recordingOutput(): { output: CliOutput; out: string[]; errors: string[] } {
  const out: string[] = [];
  const errors: string[] = [];
  return { output: { out: (line) => out.push(line), error: (line) => errors.push(line) }, out, errors };
}
