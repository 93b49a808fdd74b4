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
  const ini = iniFile(`beaker.session.absolute_timeout = 1
beaker.cache.type = file
beaker.cache.data_dir = %(here)s/cache
beaker.cache.grace = 0
beaker.cache.regions = long
beaker.cache.long.type = dbm
beaker.cache.long.grace = 0
`);
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

describe('beaker-ts sessions', () => {
  /** An INI file of file sessions in a fresh directory, and a manager on it, as an application has. */
  async function application(): Promise<{ ini: string; sessions: SessionManager }> {
    const ini = iniFile('');
    return { ini, sessions: new SessionManager(parseSessionConfigOptions(await loadIniConfig(ini))) };
  }

  async function login(sessions: SessionManager, user: string, agent: string): Promise<string[]> {
    const session = sessions.session(undefined);
    await session.setUser(user, { agent });
    await session.save();
    await session.persist();
    return session.setCookieHeaders();
  }

  it('lists the sessions of a user, never their ids, and revokes them', async () => {
    const { ini, sessions } = await application();
    await login(sessions, 'ada', 'laptop');
    await login(sessions, 'ada', 'phone');
    const bob = await login(sessions, 'bob', 'tablet');
    const listed = recordingOutput();
    expect(await main(['sessions', 'list', '--user', 'ada', '--config', ini], listed.output)).toBe(0);
    expect(listed.out).toHaveLength(3);
    expect(listed.out[0]).toMatch(
      /^[0-9a-f]{32} {2}created \S+ {2}last access \S+ {2}\{"agent":"(laptop|phone)"\}$/,
    );
    expect(listed.out.at(-1)).toBe('2 session(s) of ada');
    const json = recordingOutput();
    expect(await main(['sessions', 'list', '--user', 'ada', '--config', ini, '--json'], json.output)).toBe(0);
    expect((JSON.parse(json.out[0] ?? '') as unknown[]).length).toBe(2);

    const revoked = recordingOutput();
    expect(await main(['sessions', 'revoke', '--user', 'ada', '--config', ini], revoked.output)).toBe(0);
    expect(revoked.out).toEqual(['revoked 2 session(s) of ada']);
    expect(await sessions.sessionsOf('ada')).toEqual([]);
    expect(await sessions.sessionsOf('bob')).toHaveLength(1);
    const bobCookie = bob[0]?.split(';')[0];
    expect((await sessions.session(bobCookie).load()).isNew).toBe(false);
    await sessions.close();
  });

  it('revokes every session created before a date', async () => {
    const { ini, sessions: later } = await application();
    const cutoff = new Date(Date.now() - 5000);
    const sessions = new SessionManager({
      ...parseSessionConfigOptions(await loadIniConfig(ini)),
      clock: () => Date.now() - 10_000,
    });
    const old = await login(sessions, 'ada', 'old');
    const recent = await login(later, 'bob', 'new');
    const { output, out } = recordingOutput();
    expect(
      await main(['sessions', 'revoke', '--all-before', cutoff.toISOString(), '--config', ini], output),
    ).toBe(0);
    expect(out).toEqual([`revoked 1 session(s) created before ${cutoff.toISOString()}`]);
    expect((await sessions.session(old[0]?.split(';')[0]).load()).isNew).toBe(true);
    expect((await later.session(recent[0]?.split(';')[0]).load()).isNew).toBe(false);
    await Promise.all([sessions.close(), later.close()]);
  });

  it('revokes cookie sessions through the revocation store', async () => {
    const ini = join(mkdtempSync(join(tmpdir(), 'beaker-cli-cookies-')), 'app.ini');
    writeFileSync(
      ini,
      `[app:main]
beaker.session.type = cookie
beaker.session.validate_key = a-cli-test-validate-key-of-32-bytes-or-more
beaker.session.revocation_store = file
beaker.session.data_dir = %(here)s/revocations
`,
    );
    const sessions = new SessionManager(parseSessionConfigOptions(await loadIniConfig(ini)));
    const cookie = (await login(sessions, 'ada', 'laptop'))[0]?.split(';')[0];
    const { output, out } = recordingOutput();
    expect(await main(['sessions', 'revoke', '--user', 'ada', '--config', ini], output)).toBe(0);
    expect(out).toEqual([
      'revoked the cookie sessions of ada: every process refuses them within revocation_check_interval',
    ]);
    // A manager that reads the list afresh (as any other process would within the interval) refuses the cookie.
    const fresh = new SessionManager(parseSessionConfigOptions(await loadIniConfig(ini)));
    expect((await fresh.session(cookie).load()).isNew).toBe(true);
    await Promise.all([sessions.close(), fresh.close()]);
  });

  it.each([
    ['list without --user', ['sessions', 'list', '--config', 'app.ini']],
    ['revoke without --user or --all-before', ['sessions', 'revoke', '--config', 'app.ini']],
    [
      'revoke with both',
      ['sessions', 'revoke', '--user', 'u', '--all-before', '2026-01-01', '--config', 'app.ini'],
    ],
    ['a date it cannot read', ['sessions', 'revoke', '--all-before', 'last tuesday', '--config', 'app.ini']],
    ['an unknown sessions command', ['sessions', 'purge', '--config', 'app.ini']],
  ])('exits 2 with its usage for %s', async (_label, argv) => {
    const { output, errors } = recordingOutput();
    expect(await main(argv, output)).toBe(2);
    expect(errors[0]).toMatch(/^beaker-ts: /);
    expect(errors.at(-1)).toMatch(/^usage: beaker-ts prune --config/);
  });
});

describe('beaker-ts cache', () => {
  it('expires and deletes the entries with a tag in the stores the INI file configures', async () => {
    const ini = iniFile(`beaker.cache.type = file
beaker.cache.data_dir = %(here)s/cache
beaker.cache.expire = 3600
`);
    const config = await loadIniConfig(ini);
    const caches = new CacheManager(parseCacheConfigOptions(config));
    const pages = caches.getCache<string>('pages');
    await pages.put('/a', 'A', { tags: ['product:1'] });
    await pages.put('/b', 'B', { tags: ['product:2'] });
    await pages.put('/c', 'C', { tags: ['product:3'] });
    const { output, out, errors } = recordingOutput();
    expect(await main(['cache', 'expire-tag', '--tag', 'product:1', '--config', ini], output)).toBe(0);
    expect(
      await main(['cache', 'delete-tag', '--tag', 'product:2', '--tag', 'x', '--config', ini], output),
    ).toBe(0);
    expect(errors).toEqual([]);
    expect(out).toEqual([
      'expired the cache entries tagged product:1: they are served stale while one caller refreshes each',
      'deleted the cache entries tagged product:2, x',
    ]);
    // The application sees it at once: /a is stale (its old value served while it is created anew), /b is gone.
    expect(await pages.get('/a')).toBeUndefined();
    expect(await pages.has('/b')).toBe(false);
    expect(await pages.get('/c')).toBe('C');
    await caches.close();
  });

  it('exits 2 without --tag', async () => {
    const { output, errors } = recordingOutput();
    expect(await main(['cache', 'expire-tag', '--config', iniFile('')], output)).toBe(2);
    expect(errors[0]).toBe('beaker-ts: cache expire-tag needs --tag');
  });
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

  it('lists sessions through the link', () => {
    const dir = mkdtempSync(join(tmpdir(), 'beaker-cli-link-'));
    const ini = join(dir, 'app.ini');
    writeFileSync(ini, `[app:main]\nbeaker.session.type = file\nbeaker.session.data_dir = %(here)s/s\n`);
    const result = run('sessions', 'list', '--user', 'nobody', '--config', ini);
    expect(result.stdout).toBe('0 session(s) of nobody\n');
    expect(result.status).toBe(0);
  });

  it('exits 1 with the message for a config file that does not exist', () => {
    const result = run('prune', '--config', join(tmpdir(), 'beaker-cli-no-such-file.ini'));
    expect(result.stderr).toMatch(/^beaker-ts: .*beaker-cli-no-such-file\.ini/);
    expect(result.status).toBe(1);
  });
});

/** An INI file in a fresh directory: file sessions with a secret, then `more` lines of `[app:main]`. */
function iniFile(more: string): string {
  const ini = join(mkdtempSync(join(tmpdir(), 'beaker-cli-')), 'app.ini');
  writeFileSync(
    ini,
    `[app:main]
beaker.session.type = file
beaker.session.data_dir = %(here)s/sessions
beaker.session.secret = a-cli-test-secret-of-at-least-32-bytes
${more}
`,
  );
  return ini;
}

/** A {@link CliOutput} that keeps the lines it is given. */
function recordingOutput(): { output: CliOutput; out: string[]; errors: string[] } {
  const out: string[] = [];
  const errors: string[] = [];
  return { output: { out: (line) => out.push(line), error: (line) => errors.push(line) }, out, errors };
}
