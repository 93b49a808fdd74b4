import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  loadIniConfig,
  parseCacheConfigOptions,
  parseIniConfig,
  parseSessionConfigOptions,
} from '../../src/index.js';

const PYLONS_INI = `# A Pylons application's development.ini
[DEFAULT]
debug = true
email_to = you@yourdomain.com
cache_dir = %(here)s/data

[server:main]
use = egg:Paste#http
port = 5000

[app:main]
use = egg:myapp
full_stack = true
; session settings
beaker.session.key = myapp
beaker.session.secret = somesecret
beaker.session.data_dir = %(here)s/data/sessions/data
beaker.session.lock_dir = %(cache_dir)s/sessions/lock
# Setting cookie_expires = true causes Beaker to omit the expires= field
beaker.session.cookie_expires = true
beaker.cache.regions = short_term,
    long_term
beaker.cache.short_term.expire = 60
beaker.cache.long_term.type = file
beaker.cache.long_term.expire = 3600
progress = 100%%
`;

describe('INI files (Pylons/Paste style)', () => {
  let dir: string;
  let path: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'beaker-ini-'));
    path = join(dir, 'development.ini');
    await writeFile(path, PYLONS_INI);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads [DEFAULT] and [app:main] into one flat dictionary with %(here)s interpolated', async () => {
    const config = await loadIniConfig(path);
    expect(config).toEqual({
      here: dir,
      __file__: path,
      debug: 'true',
      email_to: 'you@yourdomain.com',
      cache_dir: `${dir}/data`,
      use: 'egg:myapp',
      full_stack: 'true',
      'beaker.session.key': 'myapp',
      'beaker.session.secret': 'somesecret',
      'beaker.session.data_dir': `${dir}/data/sessions/data`,
      'beaker.session.lock_dir': `${dir}/data/sessions/lock`,
      'beaker.session.cookie_expires': 'true',
      'beaker.cache.regions': 'short_term,\nlong_term',
      'beaker.cache.short_term.expire': '60',
      'beaker.cache.long_term.type': 'file',
      'beaker.cache.long_term.expire': '3600',
      progress: '100%',
    });
  });

  it('feeds parseSessionConfigOptions and parseCacheConfigOptions', async () => {
    const config = await loadIniConfig(path);
    expect(parseSessionConfigOptions(config)).toMatchObject({
      key: 'myapp',
      data_dir: `${dir}/data/sessions/data`,
      cookie_expires: true,
    });
    const cache = parseCacheConfigOptions(config);
    expect(Object.keys(cache.cache_regions ?? {})).toEqual(['short_term', 'long_term']);
    expect(cache.cache_regions?.long_term).toMatchObject({ type: 'file', expire: 3600 });
  });

  it('reads another section on request', async () => {
    const config = await loadIniConfig(path, { section: 'server:main' });
    expect(config.port).toBe('5000');
    expect(config['beaker.session.key']).toBeUndefined();
  });

  it('keeps the case of keys and accepts ":" as a delimiter', () => {
    expect(parseIniConfig('[app:main]\nBeaker.Key: Value\n', { path: '/x/a.ini' })).toMatchObject({
      'Beaker.Key': 'Value',
    });
  });

  it('keeps [DEFAULT] values global unless the section uses `set`, and supports `get`', () => {
    const text =
      '[DEFAULT]\ndebug = true\nname = base\n[app:main]\ndebug = false\nset name = changed\nget alias = debug\n';
    expect(parseIniConfig(text, { path: '/x/a.ini' })).toMatchObject({
      debug: 'true',
      name: 'changed',
      alias: 'true',
    });
  });

  it('keeps blank lines inside continued values and drops trailing ones', () => {
    const config = parseIniConfig('[app:main]\nlist = a\n\n  b\n\nother = c\n', { path: '/x/a.ini' });
    expect(config.list).toBe('a\n\nb');
    expect(config.other).toBe('c');
  });

  it('interpolates nested references and resolves %% to %', () => {
    const text = '[DEFAULT]\nroot = %(here)s/r\n[app:main]\na = %(b)s/a\nb = %(root)s/b\npct = 50%%\n';
    expect(parseIniConfig(text, { path: '/srv/app.ini' })).toMatchObject({ a: '/srv/r/b/a', pct: '50%' });
  });

  it.each([
    ['[app:main]\na = %(missing)s\n', /refers to "%\(missing\)s", which is not defined/],
    ['[app:main]\na = 5%\n', /"%" must be followed by "%" or "\(name\)s"/],
    ['[app:main]\na = %(a)s\n', /refers to itself or nests too deep/],
    ['a = 1\n[app:main]\n', /must start with a section header/],
    ['[app:main]\njust words\n', /Cannot read this line/],
    ['[app:main]\na = 1\na = 2\n', /Option "a" appears twice in \[app:main\]/],
    ['[app:main]\n[app:main]\n', /Section \[app:main\] appears twice/],
    ['[app:other]\n', /No section \[app:main\] .* \(sections: app:other\)/],
  ])('refuses %j with a ConfigError', (text, message) => {
    expect(() => parseIniConfig(text, { path: '/x/bad.ini' })).toThrow(message);
    expect(() => parseIniConfig(text, { path: '/x/bad.ini' })).toThrow(ConfigError);
  });

  it('says which file it cannot read', async () => {
    await expect(loadIniConfig(join(dir, 'missing.ini'))).rejects.toThrow(
      /Cannot read the configuration file/,
    );
  });
});
