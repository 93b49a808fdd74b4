import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  parseCacheConfigOptions,
  parseSessionConfigOptions,
  type ConfigWarning,
  type ParseConfigOptions,
} from '../../src/index.js';

/** Parse options that collect warnings instead of printing them. */
function collecting(): { warnings: ConfigWarning[]; options: ParseConfigOptions } {
  const warnings: ConfigWarning[] = [];
  return { warnings, options: { onWarning: (warning) => warnings.push(warning) } };
}

describe('parseCacheConfigOptions', () => {
  it('reproduces the example of spec §1.1', () => {
    const { warnings, options } = collecting();
    const parsed = parseCacheConfigOptions(
      {
        'cache.type': 'file',
        'beaker.cache.data_dir': '/d',
        'cache.url': 'u',
        'cache.lock_dir': '/l',
        'cache.regions': 'short, long,',
        'cache.short.expire': '60',
        'cache.short.url': 'x',
        'cache.long.type': 'dbm',
        'cache.expire': '10',
      },
      options,
    );
    expect(parsed).toEqual({
      type: 'file',
      data_dir: '/d',
      url: 'u',
      lock_dir: '/l',
      expire: 10,
      enabled: true,
      log_file: null,
      cache_regions: {
        short: {
          data_dir: '/d',
          lock_dir: '/l',
          type: 'file',
          enabled: true,
          expire: 60,
          key_length: 250,
          url: 'x',
        },
        long: { data_dir: '/d', lock_dir: '/l', type: 'dbm', enabled: true, expire: 10, key_length: 250 },
      },
    });
    expect(warnings).toEqual([]);
  });

  it('gives Beaker’s defaults, and none with includeDefaults: false', () => {
    expect(parseCacheConfigOptions({})).toEqual({
      type: 'memory',
      data_dir: null,
      expire: null,
      log_file: null,
      enabled: true,
    });
    expect(parseCacheConfigOptions({ 'cache.expire': '5' }, { includeDefaults: false })).toEqual({
      expire: 5,
    });
  });

  it('ignores keys without a cache prefix', () => {
    expect(
      parseCacheConfigOptions(
        { 'session.type': 'file', 'sqlalchemy.url': 'x', debug: 'true' },
        { includeDefaults: false },
      ),
    ).toEqual({});
  });

  it('reads the seed document’s region example', () => {
    const parsed = parseCacheConfigOptions({
      'cache.data_dir': '/tmp/cache/data',
      'cache.lock_dir': '/tmp/cache/lock',
      'cache.regions': 'short_term, long_term',
      'cache.short_term.type': 'ext:memcached',
      'cache.short_term.url': '127.0.0.1:11211',
      'cache.short_term.expire': '3600',
      'cache.long_term.type': 'file',
      'cache.long_term.expire': '86400',
    });
    expect(parsed.cache_regions).toEqual({
      short_term: {
        data_dir: '/tmp/cache/data',
        lock_dir: '/tmp/cache/lock',
        type: 'ext:memcached',
        url: '127.0.0.1:11211',
        enabled: true,
        expire: 3600,
        key_length: 250,
      },
      long_term: {
        data_dir: '/tmp/cache/data',
        lock_dir: '/tmp/cache/lock',
        type: 'file',
        enabled: true,
        expire: 86400,
        key_length: 250,
      },
    });
    // Region keys move out of the global options.
    expect(Object.keys(parsed).filter((key) => key.includes('.'))).toEqual([]);
  });

  it('inherits only data_dir, lock_dir, type, enabled, expire and key_length (spec §5.9 case 161)', () => {
    const parsed = parseCacheConfigOptions({
      'cache.url': 'redis://a',
      'cache.memcache_module': 'memjs',
      'cache.key_length': '100',
      'cache.enabled': 'false',
      'cache.regions': 'r',
    });
    expect(parsed.cache_regions?.r).toEqual({
      data_dir: null,
      lock_dir: null,
      type: 'memory',
      enabled: false,
      expire: null,
      key_length: 100,
    });
  });

  it('yields region values none of which is the string "None" (spec §5.1 case 9)', () => {
    for (const includeDefaults of [true, false]) {
      const parsed = parseCacheConfigOptions(
        { 'cache.regions': 'short_term, long_term' },
        { includeDefaults },
      );
      const values = Object.values(parsed.cache_regions ?? {}).flatMap((region): unknown[] =>
        Object.values(region),
      );
      expect(values).not.toContain('None');
      expect(Object.keys(parsed.cache_regions ?? {})).toEqual(['short_term', 'long_term']);
    }
  });

  it('gives an empty cache_regions for regions = "" and none without regions (spec §5.1 case 10)', () => {
    expect(parseCacheConfigOptions({ 'cache.regions': '' }).cache_regions).toEqual({});
    expect(parseCacheConfigOptions({ 'cache.regions': ' , ,' }).cache_regions).toEqual({});
    expect('cache_regions' in parseCacheConfigOptions({})).toBe(false);
  });

  it('ignores empty region entries and repeated names', () => {
    const parsed = parseCacheConfigOptions({ 'cache.regions': 'a,, b ,a,', 'cache.a.expire': '1' });
    expect(Object.keys(parsed.cache_regions ?? {})).toEqual(['a', 'b']);
    expect(parsed.cache_regions?.a?.expire).toBe(1);
  });

  it('accepts typed values and a typed region list', () => {
    const parsed = parseCacheConfigOptions({
      'cache.expire': 30,
      'cache.enabled': true,
      'cache.regions': ['fast'],
      'cache.fast.expire': 5,
    });
    expect(parsed.expire).toBe(30);
    expect(parsed.cache_regions?.fast?.expire).toBe(5);
  });

  it('names the key as written when a region value is invalid', () => {
    try {
      parseCacheConfigOptions({ 'cache.regions': 'short', 'beaker.cache.short.expire': 'soon' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).key).toBe('beaker.cache.short.expire');
      expect((error as ConfigError).message).toContain(
        'expire must be an integer representing how many seconds the cache is valid for',
      );
    }
  });

  it('lets a later key win when both prefixes give the same option (Beaker’s dict order)', () => {
    expect(parseCacheConfigOptions({ 'beaker.cache.expire': '1', 'cache.expire': '2' }).expire).toBe(2);
  });
});

describe('unknown and misspelled keys are never silently ignored', () => {
  it('warns with the nearest known option', () => {
    const { warnings, options } = collecting();
    const parsed = parseCacheConfigOptions({ 'cache.expires': '60', 'beaker.cache.lockdir': '/l' }, options);
    expect(warnings.map((warning) => warning.key)).toEqual(['cache.expires', 'beaker.cache.lockdir']);
    expect(warnings[0]?.message).toContain('Did you mean "cache.expire"?');
    expect(warnings[1]?.message).toContain('Did you mean "beaker.cache.lock_dir"?');
    expect(warnings.every((warning) => warning.code === 'BEAKER_UNKNOWN_OPTION')).toBe(true);
    // Beaker passes unknown options to the back-end; so does beaker-ts.
    expect((parsed as Record<string, unknown>).expires).toBe('60');
  });

  it('warns about options of undeclared or misspelled regions', () => {
    const { warnings, options } = collecting();
    parseCacheConfigOptions(
      { 'cache.regions': 'short_term', 'cache.shrt_term.expire': '1', 'cache.other.expire': '2' },
      options,
    );
    expect(warnings.map((warning) => warning.code)).toEqual([
      'BEAKER_UNKNOWN_REGION',
      'BEAKER_UNKNOWN_REGION',
    ]);
    expect(warnings[0]?.message).toContain('Did you mean "short_term"?');
    expect(warnings[1]?.message).toContain('Add "other" to cache.regions');
  });

  it('warns about a misspelled option inside a region', () => {
    const { warnings, options } = collecting();
    parseCacheConfigOptions({ 'cache.regions': 'r', 'cache.r.expir': '1' }, options);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain('Did you mean "cache.r.expire"?');
  });

  it('accepts the options of registered back-ends through knownOptions', () => {
    const { warnings, options } = collecting();
    parseCacheConfigOptions({ 'cache.shard_count': '4' }, { ...options, knownOptions: ['shard_count'] });
    expect(warnings).toEqual([]);
  });

  it('warns for session keys too, and for the deprecated session_ prefix', () => {
    const { warnings, options } = collecting();
    const parsed = parseSessionConfigOptions(
      {
        'beaker.session.timout': '60',
        session_secret: 'x'.repeat(40),
        'beaker.session.cookie_expire': 'true',
      },
      options,
    );
    expect(warnings.map((warning) => warning.code)).toEqual([
      'BEAKER_DEPRECATED_PREFIX',
      'BEAKER_UNKNOWN_OPTION',
      'BEAKER_UNKNOWN_OPTION',
    ]);
    expect(warnings[0]?.message).toBe('Session options should start with session. instead of session_.');
    expect(warnings[1]?.message).toContain('Did you mean "beaker.session.timeout"?');
    expect(warnings[2]?.message).toContain('Did you mean "beaker.session.cookie_expires"?');
    expect(parsed.secret).toBe('x'.repeat(40));
  });

  it('reports through process.emitWarning by default', async () => {
    const seen = new Promise<Error & { code?: string }>((resolve) => process.once('warning', resolve));
    parseCacheConfigOptions({ 'cache.tpye': 'file' });
    const warning = await seen;
    expect(warning.name).toBe('BeakerConfigWarning');
    expect(warning.code).toBe('BEAKER_UNKNOWN_OPTION');
    expect(warning.message).toContain('Did you mean "cache.type"?');
  });
});

describe('parseSessionConfigOptions', () => {
  it('starts from the middleware defaults (spec §1.1)', () => {
    expect(parseSessionConfigOptions({})).toEqual({
      invalidate_corrupt: true,
      type: null,
      data_dir: null,
      key: 'beaker.session.id',
      timeout: null,
      save_accessed_time: true,
      secret: null,
      log_file: null,
    });
  });

  it('reads beaker.session., session. and session_ prefixes and coerces every value', () => {
    const { options } = collecting();
    const parsed = parseSessionConfigOptions(
      {
        'beaker.session.type': 'file',
        'beaker.session.data_dir': '/srv/data/sessions/data',
        'beaker.session.lock_dir': '/srv/data/sessions/lock',
        'session.cookie_expires': '300',
        session_auto: 'true',
        'cache.type': 'memory',
        other: 'ignored',
      },
      { ...options, includeDefaults: false },
    );
    expect(parsed).toEqual({
      type: 'file',
      data_dir: '/srv/data/sessions/data',
      lock_dir: '/srv/data/sessions/lock',
      cookie_expires: 300,
      auto: true,
    });
  });

  it('collects flat sa.* keys into sa_opts (Beaker lost them, spec §6 C12)', () => {
    const parsed = parseSessionConfigOptions(
      {
        'session.type': 'ext:database',
        'session.sa.url': 'sqlite:///s.db',
        'session.sa.pool_recycle': '3600',
      },
      { includeDefaults: false },
    );
    expect(parsed.sa_opts).toEqual({ 'sa.url': 'sqlite:///s.db', 'sa.pool_recycle': '3600' });
  });

  it('throws a ConfigError naming the prefixed key', () => {
    expect(() => parseSessionConfigOptions({ 'beaker.session.secure': 'sure' })).toThrow(
      'Session secure must be a boolean. (option "beaker.session.secure"',
    );
  });
});

describe('every option of the seed document is read', () => {
  it('session and shared options', () => {
    const { warnings, options } = collecting();
    const expires = new Date('2040-01-01T00:00:00Z');
    const parsed = parseSessionConfigOptions(
      {
        'beaker.session.data_dir': '/app/data/sessions/data',
        'beaker.session.lock_dir': '/app/data/sessions/lock',
        'beaker.session.memcache_module': 'auto',
        'beaker.session.type': 'ext:memcached',
        'beaker.session.webtest_varname': 'session',
        'beaker.session.url': '127.0.0.1:11211;127.0.0.1:11212',
        'beaker.session.auto': 'True',
        'beaker.session.cookie_expires': expires,
        'beaker.session.encrypt_key': 'k'.repeat(32),
        'beaker.session.validate_key': 'v'.repeat(32),
        'beaker.session.crypto_type': 'cryptography',
      },
      options,
    );
    expect(parsed).toMatchObject({
      data_dir: '/app/data/sessions/data',
      lock_dir: '/app/data/sessions/lock',
      memcache_module: 'auto',
      type: 'ext:memcached',
      webtest_varname: 'session',
      url: '127.0.0.1:11211;127.0.0.1:11212',
      auto: true,
      cookie_expires: expires,
      encrypt_key: 'k'.repeat(32),
      validate_key: 'v'.repeat(32),
      crypto_type: 'cryptography',
    });
    expect(warnings).toEqual([]);
  });

  it('cache options', () => {
    const { warnings, options } = collecting();
    const parsed = parseCacheConfigOptions(
      {
        'cache.type': 'file',
        'cache.data_dir': '/tmp/cache/data',
        'cache.lock_dir': '/tmp/cache/lock',
        'cache.expire': '60',
        'cache.enabled': 'false',
        'cache.memcache_module': 'memjs',
        'cache.url': '127.0.0.1:11211',
        'cache.webtest_varname': 'cache',
      },
      options,
    );
    expect(parsed).toMatchObject({ type: 'file', expire: 60, enabled: false, memcache_module: 'memjs' });
    // webtest_varname is a session option only.
    expect(warnings.map((warning) => warning.key)).toEqual(['cache.webtest_varname']);
  });
});
