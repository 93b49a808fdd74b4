import { describe, expect, it } from 'vitest';
import { ConfigError, coerceCacheParams, coerceSessionParams } from '../../src/index.js';

/** Runs `fn` and returns the ConfigError it throws (failing the test when it throws nothing else). */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

// Every coercion error text of spec §1.3, with a representative bad value.
const SESSION_ERRORS: [string, unknown, string][] = [
  ['type', '', 'Empty strings are invalid for: Session type must be a string.'],
  ['data_dir', '', 'Empty strings are invalid for: data_dir must be a string referring to a directory.'],
  ['lock_dir', '  ', 'Empty strings are invalid for: lock_dir must be a string referring to a directory.'],
  ['key', '', 'Empty strings are invalid for: Session key must be a string.'],
  ['id', '', 'Empty strings are invalid for: Session id must be a string.'],
  ['secret', '', 'Empty strings are invalid for: Session secret must be a string.'],
  ['validate_key', '', 'Empty strings are invalid for: Session validate_key must be a string.'],
  ['encrypt_key', '', 'Empty strings are invalid for: Session encrypt_key must be a string.'],
  ['encrypt_nonce_bits', 'x', 'Session encrypt_nonce_bits must be a number'],
  ['cookie_expires', 'tomorrow', 'Cookie expires was not a boolean, datetime, int, or timedelta instance.'],
  ['cookie_domain', '', 'Empty strings are invalid for: Cookie domain must be a string.'],
  ['cookie_path', '', 'Empty strings are invalid for: Cookie path must be a string.'],
  ['secure', 'maybe', 'Session secure must be a boolean.'],
  ['httponly', 'sometimes', 'Session httponly must be a boolean.'],
  ['timeout', 'x', 'Session timeout must be an integer.'],
  ['timeout', '-5', 'Session timeout must be an integer.'],
  ['timeout', 1.5, 'Session timeout must be an integer.'],
  ['save_accessed_time', 'x', 'Session save_accessed_time must be a boolean (defaults to true).'],
  ['auto', 'x', 'Session is created if accessed.'],
  ['webtest_varname', '', 'Empty strings are invalid for: Session varname must be a string.'],
  ['data_serializer', '', 'Empty strings are invalid for: data_serializer must be a string.'],
  ['data_serializer', 'yaml', 'Invalid value for data_serializer: yaml'],
];

// Every coercion error text of spec §1.4.
const CACHE_ERRORS: [string, unknown, string][] = [
  ['type', '', 'Empty strings are invalid for: Cache type must be a string.'],
  ['type', null, 'Cache type must be a string.'],
  ['data_dir', '', 'Empty strings are invalid for: data_dir must be a string referring to a directory.'],
  ['lock_dir', '', 'Empty strings are invalid for: lock_dir must be a string referring to a directory.'],
  ['enabled', 'x', 'enabled must be true/false if present.'],
  ['expire', 'x', 'expire must be an integer representing how many seconds the cache is valid for'],
  ['expire', '1.5', 'expire must be an integer representing how many seconds the cache is valid for'],
  ['regions', 5, 'Regions must be a comma separated list of valid regions'],
  [
    'key_length',
    'x',
    'key_length must be an integer which indicates the longest a key can be before hashing',
  ],
];

describe('coerceSessionParams: error texts (spec §1.3, §5.9 case 160)', () => {
  it.each(SESSION_ERRORS)('%s = %j → %s', (option, value, text) => {
    const error = configErrorOf(() => coerceSessionParams({ [option]: value }));
    expect(error.message.startsWith(text)).toBe(true);
    expect(error.option).toBe(option);
    expect(error.value).toBe(value);
    expect(error.code).toBe('E_CONFIG');
    expect(error.message).toContain(`option "${option}"`);
    expect(error.message).toContain('received');
  });

  it('save_accessed_time = false with a timeout → Beaker’s text', () => {
    const error = configErrorOf(() => coerceSessionParams({ timeout: '5', save_accessed_time: 'false' }));
    expect(error.beakerMessage).toBe('save_accessed_time must be true to use timeout');
    expect(error.option).toBe('timeout');
  });

  it('names the key as the user wrote it', () => {
    const error = configErrorOf(() =>
      coerceSessionParams({ timeout: 'x' }, (option) => `beaker.session.${option}`),
    );
    expect(error.key).toBe('beaker.session.timeout');
    expect(error.message).toBe(
      'Session timeout must be an integer. (option "beaker.session.timeout": ' +
        'expected a whole number of seconds, received "x")',
    );
  });

  it('never prints a secret in an error', () => {
    const error = configErrorOf(() => coerceSessionParams({ secret: { toString: () => 'hunter2' } }));
    expect(error.message).not.toContain('hunter2');
    const masked = configErrorOf(() => coerceSessionParams({ encrypt_key: '   ' }));
    expect(masked.message).toContain('a secret of 3 characters');
  });
});

describe('coerceCacheParams: error texts (spec §1.4)', () => {
  it.each(CACHE_ERRORS)('%s = %j → %s', (option, value, text) => {
    const error = configErrorOf(() => coerceCacheParams({ [option]: value }));
    expect(error.message.startsWith(text)).toBe(true);
    expect(error.beakerMessage).toBe(text);
    expect(error.option).toBe(option);
  });
});

describe('coercion rules (spec §1.2)', () => {
  it('turns INI strings into booleans, integers, lists and keeps strings', () => {
    expect(
      coerceSessionParams({
        secure: 'yes',
        httponly: 'OFF',
        auto: 't',
        save_accessed_time: '1',
        timeout: '3600',
        encrypt_nonce_bits: '48',
        key: 'myapp.sid',
        cookie_domain: '.example.com',
        type: 'file',
      }),
    ).toEqual({
      secure: true,
      httponly: false,
      auto: true,
      save_accessed_time: true,
      timeout: 3600,
      encrypt_nonce_bits: 48,
      key: 'myapp.sid',
      cookie_domain: '.example.com',
      type: 'file',
    });
    expect(coerceCacheParams({ enabled: 'on', expire: '60', key_length: '200', regions: 'a, b,,c' })).toEqual(
      {
        enabled: true,
        expire: 60,
        key_length: 200,
        regions: ['a', 'b', '', 'c'],
      },
    );
  });

  it('keeps typed values of an accepted kind, and null where Beaker accepts None', () => {
    const date = new Date('2030-01-01T00:00:00Z');
    expect(
      coerceSessionParams({ secure: true, timeout: 60, cookie_expires: date, data_dir: null, secret: null }),
    ).toEqual({ secure: true, timeout: 60, cookie_expires: date, data_dir: null, secret: null });
    expect(coerceCacheParams({ regions: ['x', 'y'], enabled: null, expire: null })).toEqual({
      regions: ['x', 'y'],
      enabled: null,
      expire: null,
    });
  });

  it('turns numbers into strings for string options (Beaker’s str()), but never null into "None"', () => {
    expect(coerceSessionParams({ secret: 12345678 }).secret).toBe('12345678');
    expect(() => coerceSessionParams({ key: null })).toThrow('Session key must be a string.');
    expect(() => coerceCacheParams({ type: null })).toThrow('Cache type must be a string.');
  });

  it('drops options set to undefined and copies unknown options unchanged', () => {
    const client = { fake: 'client' };
    expect(coerceCacheParams({ expire: undefined, url: client, custom: 'x' })).toEqual({
      url: client,
      custom: 'x',
    });
  });

  it('does not change its input', () => {
    const input = { timeout: '60' };
    coerceSessionParams(input);
    expect(input).toEqual({ timeout: '60' });
  });

  it('reads a false save_accessed_time when no timeout needs it', () => {
    expect(coerceSessionParams({ save_accessed_time: '0' }).save_accessed_time).toBe(false);
  });

  it('refuses objects where Beaker would have used their truthiness or repr', () => {
    expect(() => coerceSessionParams({ secure: [] })).toThrow('Session secure must be a boolean.');
    expect(() => coerceSessionParams({ type: {} })).toThrow('Session type must be a string.');
    expect(() => coerceSessionParams({ timeout: true })).toThrow('Session timeout must be an integer.');
  });
});

describe('cookie_expires (spec §5.1 case 11, §6 C9)', () => {
  it.each([
    ['300', 300],
    [300, 300],
    ['86400', 86400],
    [true, true],
    ['True', true],
    ['true', true],
    ['t', true],
    ['1', true],
    [false, false],
    ['False', false],
    ['false', false],
    ['f', false],
    [null, false],
  ])('%j → %j', (input, expected) => {
    expect(coerceSessionParams({ cookie_expires: input }).cookie_expires).toBe(expected);
  });

  it('passes a Date through', () => {
    const date = new Date('2031-05-01T12:00:00Z');
    expect(coerceSessionParams({ cookie_expires: date }).cookie_expires).toBe(date);
  });

  it('refuses 0, which Beaker accepted and then crashed on when writing the cookie', () => {
    expect(() => coerceSessionParams({ cookie_expires: 0 })).toThrow(/cookie_expires = 0 is not a duration/);
  });

  it('refuses negative and fractional durations and invalid dates', () => {
    expect(() => coerceSessionParams({ cookie_expires: -5 })).toThrow(/positive number of seconds/);
    expect(() => coerceSessionParams({ cookie_expires: '-5' })).toThrow(/Cookie expires was not a boolean/);
    expect(() => coerceSessionParams({ cookie_expires: 1.5 })).toThrow(ConfigError);
    expect(() => coerceSessionParams({ cookie_expires: new Date('nonsense') })).toThrow(/invalid Date/);
  });
});

describe('beaker-ts fixes of Beaker’s configuration bugs (spec §6 C9, C12, S6)', () => {
  it('coerces invalidate_corrupt as a boolean: "false" means false', () => {
    expect(coerceSessionParams({ invalidate_corrupt: 'false' }).invalidate_corrupt).toBe(false);
    expect(coerceSessionParams({ invalidate_corrupt: 'yes' }).invalidate_corrupt).toBe(true);
    expect(() => coerceSessionParams({ invalidate_corrupt: 'perhaps' })).toThrow(
      'Session invalidate_corrupt must be a boolean.',
    );
  });

  it.each([
    ['Strict', 'Strict'],
    ['lax', 'Lax'],
    ['LAX', 'Lax'],
    ['off', false],
    ['false', false],
    [false, false],
    [null, false],
  ])('samesite %j → %j', (input, expected) => {
    expect(coerceSessionParams({ samesite: input }).samesite).toBe(expected);
  });

  it('accepts SameSite=None only with secure', () => {
    expect(coerceSessionParams({ samesite: 'None', secure: 'true' }).samesite).toBe('None');
    const error = configErrorOf(() => coerceSessionParams({ samesite: 'none' }));
    expect(error.message).toMatch(/SameSite=None needs secure = true/);
    expect(() => coerceSessionParams({ samesite: 'None', secure: false })).toThrow(ConfigError);
  });

  it('refuses unknown samesite values', () => {
    expect(() => coerceSessionParams({ samesite: 'sometimes' })).toThrow(
      /samesite must be Strict, Lax, None or off/,
    );
  });

  it('refuses pickle and explains why', () => {
    expect(() => coerceSessionParams({ data_serializer: 'pickle' })).toThrow(
      /refuses pickle: decoding it can run code/,
    );
  });

  it('keeps a serializer object instead of turning it into a string', () => {
    const serializer = { dumps: (value: unknown) => JSON.stringify(value), loads: (data: unknown) => data };
    expect(coerceSessionParams({ data_serializer: serializer }).data_serializer).toBe(serializer);
    expect(coerceCacheParams({ data_serializer: serializer }).data_serializer).toBe(serializer);
  });

  it('validates crypto_type, refusing nss', () => {
    expect(coerceSessionParams({ crypto_type: 'cryptography' }).crypto_type).toBe('cryptography');
    expect(() => coerceSessionParams({ crypto_type: 'nss' })).toThrow(/constant zero IV/);
    expect(() => coerceSessionParams({ crypto_type: 'rot13' })).toThrow(/Invalid crypto_type: rot13/);
  });

  it('checks ranges Beaker let through', () => {
    expect(() => coerceSessionParams({ encrypt_nonce_bits: '12' })).toThrow(/multiple of 8/);
    expect(() => coerceSessionParams({ timeout: '0' })).toThrow(/at least 1 second/);
    expect(() => coerceCacheParams({ key_length: '0' })).toThrow(/key_length must be an integer/);
    expect(() => coerceSessionParams({ key: 'bad name;' })).toThrow(/not a valid cookie name/);
  });

  it('reads starttime as a Date or epoch seconds', () => {
    expect(coerceCacheParams({ starttime: new Date(1_700_000_000_500) }).starttime).toBe(1_700_000_000.5);
    expect(coerceCacheParams({ starttime: '1700000000' }).starttime).toBe(1_700_000_000);
    expect(() => coerceCacheParams({ starttime: 'yesterday' })).toThrow(/starttime must be a Date/);
  });
});

describe('the new session options are coerced from INI strings', () => {
  it('allow_short_keys, touch_interval and absolute_timeout', () => {
    expect(
      coerceSessionParams({ allow_short_keys: 'yes', touch_interval: '30', absolute_timeout: '86400' }),
    ).toEqual({
      allow_short_keys: true,
      touch_interval: 30,
      absolute_timeout: 86400,
    });
    expect(() => coerceSessionParams({ touch_interval: 'soon' })).toThrow(
      'Session touch_interval must be an integer.',
    );
    expect(() => coerceSessionParams({ absolute_timeout: '0' })).toThrow(/at least 1 second/);
  });
});

describe('the cache options beaker-ts adds are coerced from INI strings', () => {
  it('grace, lock_timeout, lock_lease, max_items and serialize', () => {
    expect(
      coerceCacheParams({
        grace: '0',
        lock_timeout: '10',
        lock_lease: '30',
        max_items: '100',
        serialize: 'off',
      }),
    ).toEqual({
      grace: 0,
      lock_timeout: 10,
      lock_lease: 30,
      max_items: 100,
      serialize: false,
    });
    expect(() => coerceCacheParams({ lock_lease: '2' })).toThrow('lock_lease must be at least 5 seconds.');
    expect(() => coerceCacheParams({ max_items: '0' })).toThrow('max_items must be a positive whole number.');
  });
});
