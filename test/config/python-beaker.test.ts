/**
 * Cross-check against Python Beaker itself: for valid configurations beaker-ts returns the same values as
 * `coerce_session_params`, `coerce_cache_params`, `parse_cache_config_options` and `SessionMiddleware`; for invalid
 * ones, the same message text. Where beaker-ts deliberately differs, both answers are pinned below with the reason.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import {
  ConfigError,
  coerceCacheParams,
  coerceSessionParams,
  parseCacheConfigOptions,
  parseIniConfig,
  parseSessionConfigOptions,
} from '../../src/index.js';
import {
  askBeaker,
  fromOracleForm,
  oracleUnavailable,
  toOracleForm,
  type OracleCase,
  type OracleResult,
} from '../oracle/oracle.js';
import { describeWhenAvailable } from '../helpers/services.js';

const quiet = { onWarning: () => undefined };

/** What beaker-ts answers to a case, in the oracle's form. */
function answerOf(testCase: OracleCase): OracleResult {
  const input = fromOracleForm(testCase.input) as Record<string, unknown>;
  try {
    switch (testCase.kind) {
      case 'coerce_session':
        return { ok: toOracleForm(coerceSessionParams(input)) };
      case 'coerce_cache':
        return { ok: toOracleForm(coerceCacheParams(input)) };
      case 'parse_cache':
        return {
          ok: toOracleForm(
            parseCacheConfigOptions(input, { ...quiet, includeDefaults: testCase.include_defaults ?? true }),
          ),
        };
      case 'session_middleware':
        return { ok: toOracleForm(parseSessionConfigOptions(input, quiet)) };
      case 'ini': {
        const path = input.path as string;
        // PasteDeploy takes `use` out of the section to load the application.
        const config = parseIniConfig(readFileSync(path, 'utf8'), { path });
        delete config.use;
        return { ok: config };
      }
    }
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { error: error.beakerMessage ?? error.reason };
  }
}

const session = (input: Record<string, unknown>): OracleCase => ({ kind: 'coerce_session', input });
const cache = (input: Record<string, unknown>): OracleCase => ({ kind: 'coerce_cache', input });
const parse = (input: Record<string, unknown>, includeDefaults = true): OracleCase => ({
  kind: 'parse_cache',
  input,
  include_defaults: includeDefaults,
});
const middleware = (input: Record<string, unknown>): OracleCase => ({ kind: 'session_middleware', input });

const DATE = { $date: '2031-02-03T04:05:06.000Z' };

/** Cases where beaker-ts and Python Beaker must agree. */
const AGREED: OracleCase[] = [
  // Valid session options, as INI strings and typed.
  session({ type: 'file', data_dir: '/d', lock_dir: '/l', key: 'app.sid', id: 'abc', secret: 's' }),
  session({ validate_key: 'v', encrypt_key: 'e', encrypt_nonce_bits: '48', webtest_varname: 'sess' }),
  session({
    cookie_domain: '.example.com',
    cookie_path: '/app',
    data_serializer: 'json',
    crypto_type: 'pycrypto',
  }),
  ...['true', 'True', 't', 'yes', '1', 'false', 'False', 'f', 'off', '0', '300', '86400'].map((value) =>
    session({ cookie_expires: value }),
  ),
  session({ cookie_expires: 300 }),
  session({ cookie_expires: true }),
  session({ cookie_expires: false }),
  session({ cookie_expires: null }),
  session({ cookie_expires: DATE }),
  ...['yes', 'no', 'on', 'off', 'y', 'n', 't', 'f', '1', '0', 'TRUE', ' false '].map((value) =>
    session({ secure: value, httponly: value, auto: value }),
  ),
  session({ secure: true, httponly: false, auto: null, save_accessed_time: null }),
  session({ timeout: '60', save_accessed_time: 'true' }),
  session({ timeout: 60 }),
  session({ timeout: null, save_accessed_time: 'false' }),
  session({ samesite: 'Strict' }),
  session({ data_dir: null, lock_dir: null, type: null, secret: null, cookie_domain: null }),
  session({ url: 'redis://localhost:6379/0', table_name: 'sessions', unknown: 'kept' }),
  // Invalid session options: the same message text.
  ...(
    [
      ['type', ''],
      ['data_dir', ''],
      ['lock_dir', ' '],
      ['key', ''],
      ['id', ''],
      ['secret', ''],
      ['encrypt_nonce_bits', 'x'],
      ['encrypt_nonce_bits', '-8'],
      ['cookie_expires', 'tomorrow'],
      ['cookie_expires', '-5'],
      ['cookie_domain', ''],
      ['cookie_path', ''],
      ['secure', 'maybe'],
      ['httponly', ''],
      ['timeout', 'x'],
      ['timeout', '1.5'],
      ['save_accessed_time', 'x'],
      ['auto', 'x'],
      ['webtest_varname', ''],
      ['data_serializer', ''],
    ] as const
  ).map(([option, value]) => session({ [option]: value })),
  session({ timeout: '5', save_accessed_time: 'false' }),
  // Cache options.
  cache({ type: 'file', data_dir: '/d', lock_dir: '/l', enabled: 'off', expire: '60', key_length: '100' }),
  cache({ regions: 'a, b,,c', enabled: null, expire: null }),
  cache({ regions: ['x', 'y'], expire: 10, enabled: true }),
  ...(
    [
      ['type', ''],
      ['data_dir', ''],
      ['lock_dir', ''],
      ['enabled', 'x'],
      ['expire', 'x'],
      ['expire', '-1'],
      ['key_length', '1.5'],
      ['regions', 5],
    ] as const
  ).map(([option, value]) => cache({ [option]: value })),
  // parse_cache_config_options.
  parse({}),
  parse({ 'cache.expire': '5', 'session.type': 'file', other: 'x' }, false),
  parse({
    'cache.type': 'file',
    'beaker.cache.data_dir': '/d',
    'cache.url': 'u',
    'cache.lock_dir': '/l',
    'cache.regions': 'short, long,',
    'cache.short.expire': '60',
    'cache.short.url': 'x',
    'cache.long.type': 'dbm',
    'cache.expire': '10',
  }),
  parse({
    'cache.data_dir': '/tmp/cache/data',
    'cache.lock_dir': '/tmp/cache/lock',
    'cache.regions': 'short_term, long_term',
    'cache.short_term.type': 'ext:memcached',
    'cache.short_term.url': '127.0.0.1:11211',
    'cache.short_term.expire': '3600',
    'cache.long_term.type': 'file',
    'cache.long_term.expire': '86400',
  }),
  parse({ 'cache.regions': '' }),
  parse({
    'cache.regions': 'r',
    'cache.key_length': '100',
    'cache.enabled': 'false',
    'cache.memcache_module': 'm',
  }),
  parse({ 'cache.regions': 'r', 'cache.r.expire': 'soon' }),
  parse({ 'cache.enabled': 'perhaps' }),
  // SessionMiddleware's option handling.
  middleware({}),
  middleware({
    'beaker.session.type': 'file',
    'session.data_dir': '/d',
    'beaker.session.cookie_expires': '300',
  }),
  middleware({ 'beaker.session.timeout': '600', 'session.secure': 'true', 'cache.type': 'memory' }),
  middleware({ 'session.timeout': 'x' }),
];

interface Deviation {
  testCase: OracleCase;
  python: OracleResult;
  beakerTs: OracleResult;
  why: string;
}

/** Cases where beaker-ts deliberately differs from Python Beaker 1.11 (docs/compat.md). */
const DEVIATIONS: Deviation[] = [
  {
    testCase: session({ validate_key: '' }),
    python: { error: 'Empty strings are invalid for: Session encrypt_key must be a string.' },
    beakerTs: { error: 'Empty strings are invalid for: Session validate_key must be a string.' },
    why: 'Beaker 1.11 swaps the validate_key and encrypt_key messages (fixed in Beaker 1.13)',
  },
  {
    testCase: session({ encrypt_key: '' }),
    python: { error: 'Empty strings are invalid for: Session validate_key must be a string.' },
    beakerTs: { error: 'Empty strings are invalid for: Session encrypt_key must be a string.' },
    why: 'Beaker 1.11 swaps the validate_key and encrypt_key messages (fixed in Beaker 1.13)',
  },
  {
    testCase: session({ cookie_expires: 0 }),
    python: { ok: { cookie_expires: 0 } },
    beakerTs: { error: 'cookie_expires = 0 is not a duration: use true, false or a positive number.' },
    why: 'Beaker accepts 0 and crashes when it writes the cookie (§6 C9)',
  },
  {
    testCase: session({ cookie_expires: 1.5 }),
    python: { ok: { cookie_expires: true } },
    beakerTs: { error: 'Cookie expires was not a boolean, datetime, int, or timedelta instance.' },
    why: 'Beaker takes the truthiness of a fractional number',
  },
  {
    testCase: session({ secure: 2 }),
    python: { ok: { secure: true } },
    beakerTs: { error: 'Session secure must be a boolean.' },
    why: 'only 0 and 1 are read as booleans among numbers',
  },
  {
    testCase: session({ invalidate_corrupt: 'false' }),
    python: { ok: { invalidate_corrupt: 'false' } },
    beakerTs: { ok: { invalidate_corrupt: false } },
    why: 'Beaker does not coerce invalidate_corrupt, so "false" meant true (§6 S6)',
  },
  {
    testCase: session({ key: null }),
    python: { ok: { key: 'None' } },
    beakerTs: { error: 'Session key must be a string.' },
    why: 'Beaker turns None into the string "None" (§6 C12)',
  },
  {
    testCase: session({ data_serializer: 'pickle' }),
    python: { ok: { data_serializer: 'pickle' } },
    beakerTs: {
      error:
        'Invalid value for data_serializer: pickle. beaker-ts refuses pickle: decoding it can run code, ' +
        'so anyone who can write a session or cache entry could take over the process.',
    },
    why: 'pickle runs code when decoded (§6 S1)',
  },
  {
    testCase: session({ samesite: 'None' }),
    python: { ok: { samesite: 'None' } },
    beakerTs: {
      error: 'SameSite=None needs secure = true: browsers reject a SameSite=None cookie without Secure.',
    },
    why: 'SameSite=None without Secure is rejected by browsers (§6 S6)',
  },
  {
    testCase: session({ samesite: 'lax' }),
    python: { ok: { samesite: 'lax' } },
    beakerTs: { ok: { samesite: 'Lax' } },
    why: 'samesite is validated and normalised (§6 S6)',
  },
  {
    testCase: session({ crypto_type: 'nss' }),
    python: { ok: { crypto_type: 'nss' } },
    beakerTs: {
      error: 'crypto_type nss is not supported: Beaker encrypts it with AES-CBC under a constant zero IV.',
    },
    why: 'nss mode is AES-CBC with a constant IV (§6 S3)',
  },
  {
    testCase: session({ timeout: '0' }),
    python: { ok: { timeout: 0 } },
    beakerTs: { error: 'Session timeout must be at least 1 second.' },
    why: 'a zero idle timeout expires every session at once',
  },
  {
    testCase: cache({ expire: '0' }),
    python: { ok: { expire: 0 } },
    beakerTs: { error: 'expire must be an integer representing how many seconds the cache is valid for' },
    why: 'an expire of 0 meant "never expires" in Beaker (0 is falsy); expire is at least 1 second',
  },
  {
    testCase: parse({ 'cache.regions': 'r' }, false),
    python: { error: "'enabled'" },
    beakerTs: {
      ok: {
        cache_regions: {
          r: { data_dir: null, lock_dir: null, enabled: true, expire: null, key_length: 250 },
        },
      },
    },
    why: 'Beaker raises KeyError when include_defaults is false and enabled is not given',
  },
  {
    testCase: parse({ 'cache.regions': 'a, a', 'cache.a.expire': '5' }),
    python: {
      ok: {
        type: 'memory',
        data_dir: null,
        expire: null,
        log_file: null,
        enabled: true,
        cache_regions: {
          a: { data_dir: null, lock_dir: null, type: 'memory', enabled: true, expire: null, key_length: 250 },
        },
      },
    },
    beakerTs: {
      ok: {
        type: 'memory',
        data_dir: null,
        expire: null,
        log_file: null,
        enabled: true,
        cache_regions: {
          a: { data_dir: null, lock_dir: null, type: 'memory', enabled: true, expire: 5, key_length: 250 },
        },
      },
    },
    why: 'a region named twice loses its options in Beaker; beaker-ts reads it once',
  },
];

const dir = mkdtempSync(join(tmpdir(), 'beaker-oracle-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** INI files PasteDeploy reads as the oracle. */
function iniCases(): OracleCase[] {
  const files: Record<string, string> = {
    'plain.ini':
      '[app:main]\nuse = call:os:getcwd\nbeaker.session.type = file\nbeaker.session.data_dir = %(here)s/data\n',
    'defaults.ini':
      '[DEFAULT]\ndebug = true\nroot = %(here)s/var\nname = base\n\n[app:main]\nuse = call:os:getcwd\n' +
      'debug = false\nset name = changed\nget alias = debug\n' +
      'beaker.cache.data_dir = %(root)s/cache\n# a comment\n; another\nbeaker.cache.regions = a,\n    b\n\n' +
      'beaker.cache.a.expire = 60\npercent = 100%%\nKeyCase: Value\nlist = one\n\n  two\n\nlast = x\n',
    'nested.ini':
      '[DEFAULT]\na = %(b)s/a\nb = %(here)s/b\n[app:main]\nuse = call:os:getcwd\nc = %(a)s/c\n[app:other]\nuse = call:os:getcwd\nd = 1\n',
  };
  return Object.entries(files).map(([name, text]) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return { kind: 'ini', input: { path } };
  });
}

describeWhenAvailable('cross-check against Python Beaker', oracleUnavailable(), () => {
  const agreed = [...AGREED, ...iniCases()];
  const { version, results } = askBeaker([...agreed, ...DEVIATIONS.map((deviation) => deviation.testCase)]);

  it('runs Beaker 1.11 or newer', () => {
    expect(version).toMatch(/^1\.(1[1-9]|[2-9]\d)/);
  });

  it.each(agreed.map((testCase, index) => [JSON.stringify(testCase), testCase, index] as const))(
    'agrees: %s',
    (_label, testCase, index) => {
      const python = results[index];
      expect(answerOf(testCase)).toEqual(python);
    },
  );

  it.each(DEVIATIONS.map((deviation, index) => [deviation.why, deviation, agreed.length + index] as const))(
    'differs on purpose: %s',
    (_why, deviation, index) => {
      expect(results[index]).toEqual(deviation.python);
      expect(answerOf(deviation.testCase)).toEqual(deviation.beakerTs);
    },
  );
});
