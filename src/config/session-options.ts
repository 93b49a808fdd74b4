/**
 * Session options: their types, Beaker's coercion of each, and beaker-ts's extra checks.
 * @module
 */
import { BUILT_IN_BACKEND_OPTION_RULES } from '../backends/built-in.js';
import type { BackendOptions } from './backend-options.js';
import { withRedactedView } from './redact.js';
import {
  asGivenRule,
  failCombination,
  coerceWithRules,
  integerRule,
  type OptionRule,
  type RuleTable,
} from '../shared/option-rules.js';
import {
  dataDirRule,
  dataSerializerRule,
  lockDirRule,
  logFileRule,
  type DataSerializer,
} from './shared-rules.js';

/** The cookie `SameSite` attribute; `false` leaves it out. */
export type SameSite = 'Strict' | 'Lax' | 'None' | false;

/** The session cookie encryption formats. */
export type CryptoType = 'default' | 'cryptography' | 'pycrypto';

/**
 * Coerced session options, as `coerceSessionParams` returns them (Beaker's option names).
 * Every field is optional: only the options given are present.
 */
export interface SessionOptions extends BackendOptions {
  /**
   * The back-end storing sessions: `memory`, `file`, `dbm`, `ext:redis`, ... or `cookie` to keep the whole session in
   * the cookie. `null`: `file` when `data_dir` is set, otherwise `memory`.
   * @default null
   * @example 'file'
   */
  type?: string | null;
  /**
   * Directory of file-based back-ends (`file`, `dbm`).
   * @default null
   * @example '/var/lib/myapp/sessions/data'
   */
  data_dir?: string | null;
  /**
   * Directory of the lock files that coordinate processes.
   * @default null
   * @example '/var/lib/myapp/sessions/lock'
   */
  lock_dir?: string | null;
  /**
   * The cookie name.
   * @default 'beaker.session.id'
   * @example 'myapp_session'
   */
  key?: string;
  /**
   * Forces a session id (Beaker's `get_by_id`).
   * @example '0f3a9c...'
   */
  id?: string;
  /**
   * Signs the session id cookie of server-side sessions.
   * @default null
   * @example 'a long random string of 32 bytes or more'
   */
  secret?: string | string[] | null;
  /**
   * Signs (and, with `encrypt_key`, salts the keys of) cookie sessions; required by `type = cookie`.
   * @default null
   * @example 'another long random string'
   */
  validate_key?: string | string[] | null;
  /**
   * Turns on encryption of the session data.
   * @default null
   * @example 'a third long random string'
   */
  encrypt_key?: string | string[] | null;
  /**
   * Nonce size of Beaker-compatible encryption, in bits: a positive multiple of 8 (48 for pre-1.8 Beaker cookies).
   * @default 128
   * @example 128
   */
  encrypt_nonce_bits?: number | null;
  /**
   * The encryption format: `default` (AES-256-GCM), or `cryptography`/`pycrypto` for cookies that Python Beaker can
   * read and write.
   * @default 'default'
   * @example 'cryptography'
   */
  crypto_type?: CryptoType;
  /**
   * When the cookie expires: `true` at the end of the browser session, `false` never, a number of seconds from now,
   * or a `Date`.
   * @default true
   * @example 3600
   */
  cookie_expires?: boolean | number | Date;
  /**
   * The cookie `Domain` attribute.
   * @default null
   * @example '.example.com'
   */
  cookie_domain?: string | null;
  /**
   * The cookie `Path` attribute.
   * @default '/'
   * @example '/app'
   */
  cookie_path?: string | null;
  /**
   * The cookie `Secure` attribute.
   * @default false
   * @example true
   */
  secure?: boolean | null;
  /**
   * The cookie `HttpOnly` attribute.
   * @default false
   * @example true
   */
  httponly?: boolean | null;
  /**
   * The cookie `SameSite` attribute: `Strict`, `Lax`, `None` (which needs `secure`), or `false` to leave it out.
   * @default 'Lax'
   * @example 'Strict'
   */
  samesite?: SameSite;
  /**
   * Idle timeout in seconds: a session not accessed for this long is discarded. Needs `save_accessed_time`.
   * @default null
   * @example 1800
   */
  timeout?: number | null;
  /**
   * Record the last access time in the session (needed by `timeout`).
   * @default true
   * @example false
   */
  save_accessed_time?: boolean | null;
  /**
   * Save the session at the end of every request that accessed it, without calling `save()`.
   * @default false
   * @example true
   */
  auto?: boolean | null;
  /**
   * With `auto`, also store a new session that the request only read (Beaker's behaviour): every visitor without a
   * cookie then gets a stored session and a cookie, so a flood of cookieless requests fills the store. Off by default:
   * `auto` stores a new session once something is set in it. beaker-ts warns once when it is on.
   * @default false
   * @example true
   */
  auto_save_empty?: boolean | null;
  /**
   * Name under which tests can find the session of the last request.
   * @default null
   * @example 'session'
   */
  webtest_varname?: string | null;
  /**
   * How session data is serialized: `json`, or an object with `dumps` and `loads`. `pickle` is refused.
   * @default 'json'
   * @example 'json'
   */
  data_serializer?: 'json' | DataSerializer;
  /**
   * Start a fresh session instead of failing when the stored data cannot be read.
   * @default true
   * @example false
   */
  invalidate_corrupt?: boolean;
  /**
   * Read and write the session cookie (false: the application manages ids itself).
   * @default true
   * @example false
   */
  use_cookies?: boolean;
  /**
   * Accept `secret`, `validate_key` and `encrypt_key` shorter than 32 bytes (keys inherited from a Python
   * application). Warns once. Short keys can be guessed offline from one cookie: replace them instead.
   * @default false
   * @example true
   */
  allow_short_keys?: boolean;
  /**
   * With `timeout`: the least time, in seconds, between two writes that only record the access time, so that a
   * read-only request does not write the session every time. Default: a tenth of `timeout`, between 1 and 60 s.
   * @default null
   * @example 30
   */
  touch_interval?: number | null;
  /**
   * The longest life of a session in seconds, however active (kept inside the session, checked on load).
   * @default null
   * @example 86400
   */
  absolute_timeout?: number | null;
  /**
   * The largest a server-side session may be, in bytes of its stored record: a save past it fails with a
   * `SessionTooLargeError` and stores nothing. `null`: no limit. (Cookie sessions are bounded by the 4 KB cookie.)
   * @default 1048576
   * @example 65536
   */
  max_size?: number | null;
  /**
   * Store each server-side session under the SHA-256 of its id rather than the id, so that a copy of the store (a
   * dump, a backup, a replica) holds no id anyone can present as a cookie. `false` keys records by the raw id, as
   * Python Beaker does: only for a store shared with a Beaker application. beaker-ts warns once when it is off.
   * @default true
   * @example false
   */
  hash_ids?: boolean | null;
  /**
   * With `hash_ids`: a session not found under its hashed key is looked for under its raw id (a record stored before
   * ids were hashed) and moved to the hashed key by a save at the end of that request. Turn it on for one session
   * lifetime after upgrading a store that holds raw ids, then off: each miss costs one more store read.
   * @default false
   * @example true
   */
  migrate_raw_ids?: boolean | null;
  /**
   * `type = cookie` only: the back-end (`ext:redis`, `file`, ...) that keeps the revocations of cookie sessions, so
   * that `SessionManager.revokeAll`, `revoke` and `revokeBefore` can refuse a sealed cookie on every process. Its own
   * options are the session options a server-side store of that type would take (`url`, `data_dir`, ...). `null`: no
   * revocation, and no store call (the revocation methods then throw a `TypeError`).
   * @default null
   * @example 'ext:redis'
   */
  revocation_store?: string | null;
  /**
   * With `revocation_store`: the longest time, in seconds, a process goes on accepting a cookie session after it was
   * revoked (the bound). Each process reads the revocation list at most once per interval; a request that finds its
   * copy older than this waits for a fresh read.
   * @default 10
   * @example 30
   */
  revocation_check_interval?: number | null;
  /**
   * Beaker's session class option (a Python class path); accepted and ignored.
   * @default null
   */
  session_class?: string | null;
  /**
   * Beaker's namespace class option (a Python class path); accepted and ignored.
   * @default null
   */
  namespace_class?: string | null;
}

/** What `coerceSessionParams` accepts: each option typed, or as the string an INI file gives. */
export type SessionOptionsInput = { [K in keyof SessionOptions]?: SessionOptions[K] | string | null };

const BOOLEAN_EXPECTED = 'true or false (also yes/no, on/off, y/n, t/f, 1/0)';
// RFC 6265 §4.1.1: a cookie name is a token (RFC 7230 tchar).
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 6265 §4.1.1: domain-value (with the leading dot browsers ignore) and path-value.
const COOKIE_DOMAIN = /^([.]?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)([.][a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const COOKIE_PATH = /^[\u0020-\u003A\u003D-\u007E]*$/;
const SAMESITE_VALUES: Readonly<Record<string, SameSite>> = {
  strict: 'Strict',
  lax: 'Lax',
  none: 'None',
};
const SAMESITE_OFF = new Set(['off', 'false', 'no', '0']);
const CRYPTO_TYPES: readonly CryptoType[] = ['default', 'cryptography', 'pycrypto'];

function booleanRule(message: string): OptionRule {
  return { kinds: ['bool', 'null'], message, expected: BOOLEAN_EXPECTED };
}

/** A key, or several (newest first): an array, or one key per line in an INI file. */
function secretRule(message: string): OptionRule {
  return {
    kinds: ['str', 'list', 'null'],
    message,
    expected: 'a string, or several (an array, or one per line)',
    secret: true,
    refine(value, fail) {
      if (value === null) return null;
      const keys = (typeof value === 'string' ? value.split('\n') : (value as unknown[])).map((key) =>
        typeof key === 'string' ? key.trim() : fail(message),
      );
      const present = keys.filter((key) => key !== '');
      if (present.length === 0) return fail(`Empty strings are invalid for: ${message}`);
      return present.length === 1 && typeof value === 'string' ? present[0] : present;
    },
  };
}

const cookieExpiresRule: OptionRule = {
  kinds: ['bool', 'date', 'int'],
  message: 'Cookie expires was not a boolean, datetime, int, or timedelta instance.',
  expected: 'true (browser session), false (never), a number of seconds, or a Date',
  refine(value, fail) {
    if (value instanceof Date && Number.isNaN(value.getTime()))
      return fail('cookie_expires is an invalid Date.');
    if (typeof value !== 'number') return value;
    // Beaker accepts 0 and then crashes when it writes the cookie.
    if (value === 0)
      return fail('cookie_expires = 0 is not a duration: use true, false or a positive number.');
    if (value < 0) return fail('cookie_expires must be a positive number of seconds.');
    return value;
  },
};

const sameSiteRule: OptionRule = {
  message: 'samesite must be Strict, Lax, None or off.',
  expected: 'Strict, Lax, None, or off (no SameSite attribute)',
  refine(value, fail) {
    if (value === false || value === null) return false;
    if (typeof value !== 'string') return fail('samesite must be Strict, Lax, None or off.');
    const normalized = value.trim().toLowerCase();
    if (SAMESITE_OFF.has(normalized)) return false;
    return SAMESITE_VALUES[normalized] ?? fail('samesite must be Strict, Lax, None or off.');
  },
};

const cryptoTypeRule: OptionRule = {
  message: 'crypto_type must be default, cryptography or pycrypto.',
  expected: CRYPTO_TYPES.join(', '),
  refine(value, fail) {
    if (typeof value !== 'string') return fail('crypto_type must be default, cryptography or pycrypto.');
    const name = value.trim();
    if (name === 'nss') {
      return fail(
        'crypto_type nss is not supported: Beaker encrypts it with AES-CBC under a constant zero IV.',
      );
    }
    if (!(CRYPTO_TYPES as readonly string[]).includes(name)) {
      return fail(`Invalid crypto_type: ${name}.`);
    }
    return name;
  },
};

/** The options of the session itself, never a back-end's (Beaker's texts in `message`). */
export const SESSION_LEVEL_RULES: RuleTable = {
  data_dir: dataDirRule,
  lock_dir: lockDirRule,
  type: { kinds: ['str', 'null'], message: 'Session type must be a string.', expected: 'a back-end name' },
  cookie_expires: cookieExpiresRule,
  cookie_domain: {
    kinds: ['str', 'null'],
    message: 'Cookie domain must be a string.',
    expected: 'a domain such as example.com or .example.com',
    // RFC 6265's domain-value, as the cookie serializer checks it: refused here rather than at the first save.
    refine: (value, fail) =>
      typeof value !== 'string' || COOKIE_DOMAIN.test(value)
        ? value
        : fail('Cookie domain is not a valid domain.'),
  },
  cookie_path: {
    kinds: ['str', 'null'],
    message: 'Cookie path must be a string.',
    expected: 'a URL path such as /app (no ";" or control characters)',
    refine: (value, fail) =>
      typeof value !== 'string' || COOKIE_PATH.test(value) ? value : fail('Cookie path is not a valid path.'),
  },
  id: { kinds: ['str'], message: 'Session id must be a string.', expected: 'a session id' },
  key: {
    kinds: ['str'],
    message: 'Session key must be a string.',
    expected: "a cookie name (letters, digits and !#$%&'*+-.^_`|~)",
    refine: (value, fail) =>
      typeof value === 'string' && COOKIE_NAME.test(value)
        ? value
        : fail('Session key is not a valid cookie name.'),
  },
  secret: secretRule('Session secret must be a string.'),
  validate_key: secretRule('Session validate_key must be a string.'),
  encrypt_key: secretRule('Session encrypt_key must be a string.'),
  encrypt_nonce_bits: {
    kinds: ['int', 'null'],
    message: 'Session encrypt_nonce_bits must be a number',
    expected: 'a positive multiple of 8',
    refine: (value, fail) =>
      value === null || (typeof value === 'number' && value > 0 && value % 8 === 0)
        ? value
        : fail('encrypt_nonce_bits must be a positive multiple of 8.'),
  },
  crypto_type: cryptoTypeRule,
  secure: booleanRule('Session secure must be a boolean.'),
  httponly: booleanRule('Session httponly must be a boolean.'),
  samesite: sameSiteRule,
  timeout: {
    kinds: ['int', 'null'],
    message: 'Session timeout must be an integer.',
    expected: 'a whole number of seconds',
    refine: (value, fail) => (value === 0 ? fail('Session timeout must be at least 1 second.') : value),
  },
  save_accessed_time: booleanRule('Session save_accessed_time must be a boolean (defaults to true).'),
  auto: booleanRule('Session is created if accessed.'),
  auto_save_empty: booleanRule('Session auto_save_empty must be a boolean.'),
  webtest_varname: {
    kinds: ['str', 'null'],
    message: 'Session varname must be a string.',
    expected: 'a name',
  },
  data_serializer: dataSerializerRule,
  // Beaker does not coerce this one, so the INI string "false" meant true.
  invalidate_corrupt: {
    kinds: ['bool'],
    message: 'Session invalidate_corrupt must be a boolean.',
    expected: BOOLEAN_EXPECTED,
  },
  use_cookies: {
    kinds: ['bool'],
    message: 'Session use_cookies must be a boolean.',
    expected: BOOLEAN_EXPECTED,
  },
  allow_short_keys: {
    kinds: ['bool'],
    message: 'Session allow_short_keys must be a boolean.',
    expected: BOOLEAN_EXPECTED,
  },
  touch_interval: {
    kinds: ['int', 'null'],
    message: 'Session touch_interval must be an integer.',
    expected: 'a whole number of seconds',
  },
  absolute_timeout: {
    kinds: ['int', 'null'],
    message: 'Session absolute_timeout must be an integer.',
    expected: 'a positive whole number of seconds',
    refine: (value, fail) =>
      value === 0 ? fail('Session absolute_timeout must be at least 1 second.') : value,
  },
  max_size: {
    kinds: ['int', 'null'],
    message: 'Session max_size must be an integer.',
    expected: 'a positive whole number of bytes',
    refine: (value, fail) =>
      typeof value === 'number' && value < 1 ? fail('Session max_size must be at least 1 byte.') : value,
  },
  hash_ids: booleanRule('Session hash_ids must be a boolean.'),
  migrate_raw_ids: booleanRule('Session migrate_raw_ids must be a boolean.'),
  revocation_store: {
    kinds: ['str', 'null'],
    message: 'Session revocation_store must be a string.',
    expected: 'a back-end name such as ext:redis or file',
    refine: (value, fail) =>
      value === 'cookie'
        ? fail('Session revocation_store must name a store (ext:redis, file, ...), not cookie.')
        : value,
  },
  revocation_check_interval: integerRule(
    'Session revocation_check_interval must be a whole number of seconds, at least 1.',
    'a positive whole number of seconds',
    1,
  ),
  log_file: logFileRule,
  session_class: asGivenRule('session_class', 'a Python class path (ignored)'),
  namespace_class: asGivenRule('namespace_class', 'a Python class path (ignored)'),
};

/**
 * The names of {@link SESSION_LEVEL_RULES}: what a back-end never receives (but `data_dir` and `lock_dir`, if it
 * asks). A session's `timeout` is its idle timeout, never `ext:redis`'s entry TTL.
 */
export const SESSION_LEVEL_OPTIONS: ReadonlySet<string> = new Set(Object.keys(SESSION_LEVEL_RULES));

/** The session options and every built-in back-end's options, each by its rule (the session's own win). */
const SESSION_RULES: RuleTable = { ...BUILT_IN_BACKEND_OPTION_RULES, ...SESSION_LEVEL_RULES };

/** Every session option name beaker-ts knows, for the misspelling check. */
export const SESSION_OPTION_NAMES: readonly string[] = Object.keys(SESSION_RULES);

/**
 * Coerces and validates session options given by short name (Beaker's `coerce_session_params`), returning a new
 * object: strings from INI files become booleans, numbers and lists by Beaker's rules; typed values are checked by the
 * same rules. Throws a {@link ConfigError} naming the option and the value.
 *
 * @param keyOf maps an option name to the key the user wrote, for error messages.
 * @example coerceSessionParams({ timeout: '3600', secure: 'true' }) // { timeout: 3600, secure: true }
 */
export function coerceSessionParams(
  params: SessionOptionsInput | Readonly<Record<string, unknown>>,
  keyOf: (option: string) => string = (option) => option,
): SessionOptions {
  const options = coerceWithRules(params, SESSION_RULES, keyOf) as SessionOptions;
  checkSessionCombinations(options, keyOf);
  return withRedactedView(options);
}

function checkSessionCombinations(options: SessionOptions, keyOf: (option: string) => string): void {
  const timeout = options.timeout;
  if (timeout !== undefined && timeout !== null && options.save_accessed_time === false) {
    const message = 'save_accessed_time must be true to use timeout';
    failCombination({ option: 'timeout', key: keyOf('timeout') }, timeout, message, message);
  }
  if (options.samesite === 'None' && options.secure !== true) {
    failCombination(
      { option: 'samesite', key: keyOf('samesite') },
      'None',
      'SameSite=None needs secure = true: browsers reject a SameSite=None cookie without Secure.',
    );
  }
  checkCookiePrefix(options, keyOf);
  checkRevocationOptions(options, keyOf);
}

/**
 * The revocation options belong to cookie sessions in beaker-ts's format: a server-side session is revoked at once by
 * removing its record, and Beaker's cookie format carries no user or login time to check.
 */
function checkRevocationOptions(options: SessionOptions, keyOf: (option: string) => string): void {
  const store = options.revocation_store;
  const interval = options.revocation_check_interval;
  const hasStore = store !== undefined && store !== null;
  const source = (option: string): { option: string; key: string } => ({ option, key: keyOf(option) });
  if (hasStore && options.type !== 'cookie') {
    failCombination(
      source('revocation_store'),
      store,
      'revocation_store is for type = cookie: server-side sessions are revoked at once, in their own store.',
    );
  }
  if (hasStore && (options.crypto_type === 'cryptography' || options.crypto_type === 'pycrypto')) {
    failCombination(
      source('revocation_store'),
      store,
      `revocation_store needs crypto_type = default: Beaker's cookie format (${options.crypto_type}) carries no user or login time.`,
    );
  }
  if (!hasStore && interval !== undefined && interval !== null) {
    failCombination(
      source('revocation_check_interval'),
      interval,
      'revocation_check_interval needs revocation_store: without it cookie sessions are never revoked.',
    );
  }
}

/**
 * Browsers drop a `__Secure-` cookie sent without `Secure`, and a `__Host-` cookie unless it is also sent without
 * `Domain` and with `Path=/` (RFC 6265bis): such a name with other attributes would lose every session.
 */
function checkCookiePrefix(options: SessionOptions, keyOf: (option: string) => string): void {
  const name = options.key;
  if (typeof name !== 'string') return;
  const source = { option: 'key', key: keyOf('key') };
  const host = name.startsWith('__Host-');
  if ((host || name.startsWith('__Secure-')) && options.secure !== true) {
    failCombination(source, name, `A cookie named ${name} needs secure = true: browsers drop it otherwise.`);
  }
  if (host && typeof options.cookie_domain === 'string' && options.cookie_domain !== '') {
    failCombination(
      source,
      name,
      `A cookie named ${name} must have no cookie_domain: browsers drop it otherwise.`,
    );
  }
  if (host && typeof options.cookie_path === 'string' && options.cookie_path !== '/') {
    failCombination(
      source,
      name,
      `A cookie named ${name} needs cookie_path = /: browsers drop it otherwise.`,
    );
  }
}
