/**
 * The steps by which a {@link SessionManager} turns its options into what its sessions share: options checked and
 * coerced, keys checked, the settings every session reads, the back-end and its locks, and the key rings of each kind
 * of session. Each step is a function of what the steps before it resolved.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { AnyBackend, BackendFactory } from '../backends/contract.js';
import { backendOptionsOf, type BackendDescriptor } from '../backends/define.js';
import { BackendRegistry } from '../backends/registry.js';
import { SharedLockChoice } from '../backends/shared-locks.js';
import { SESSION_LEVEL_OPTIONS } from '../config/session-options.js';
import { SESSION_OPTION_NAMES, coerceSessionParams, type SessionOptions } from '../config/index.js';
import { optionNamesChecked, warnUnknownOptions } from '../config/parse.js';
import { eventWarningCode, ThrottledWarnings } from '../shared/warnings.js';
import { ConfigError } from '../shared/errors.js';
import { KeyedMutex } from '../locks/keyed-mutex.js';
import { TwoStageLock } from '../locks/two-stage.js';
import type { LockProvider } from '../locks/contract.js';
import type { CookieAttributes } from './cookies.js';
import type { SessionRecords } from './session-records.js';
import { UserIndex } from './user-index.js';
import { DEFAULT_REVOCATION_CHECK_INTERVAL, type CookieRevocations } from './cookie-revocations.js';
import { KeyRing, type BeakerEncoding } from './crypto.js';
import { jsonDataCodec, serializerDataCodec, type DataCodec } from './format.js';
import type { SessionManagerOptions } from './manager.js';
import type {
  CookieSessionSettings,
  ServerSessionSettings,
  SessionEvent,
  SessionSettings,
} from './settings.js';

/** What the manager's options may hold besides the session options. */
const MANAGER_OPTIONS = ['backends', 'onEvent', 'clock', 'knownOptions'];

const MIN_KEY_BYTES = 32;
/** A random key of 32 characters has 14 or more different ones (hex) and usually far more; 8 flags repetition. */
const MIN_DISTINCT_KEY_CHARACTERS = 8;
const warnedOnce = new Set<string>();

/** The manager's options, checked and split: the session options, coerced, and what only code can give. */
export interface ResolvedManagerOptions {
  session: SessionOptions;
  /** The back-end `type`: `cookie` for cookie sessions, otherwise the name of a back-end. */
  type: string;
  backends: Record<string, BackendDescriptor | BackendFactory>;
  clock: () => number;
  report: (event: SessionEvent) => void;
}

/** The keys of the session options, as lists, checked. */
export interface SessionKeys {
  /** Set for `crypto_type = cryptography | pycrypto`: Beaker's formats. */
  beaker: BeakerEncoding | undefined;
  secrets: string[];
  validateKeys: string[];
  encryptKeys: string[];
}

/**
 * Warns about unknown option names (unless `parseSessionConfigOptions` already did), coerces the session options and
 * sets the manager-only ones apart. Events go to `onEvent`, or else out as throttled `BeakerSessionWarning`s.
 */
export function resolveManagerOptions(options: SessionManagerOptions): ResolvedManagerOptions {
  if (!optionNamesChecked(options)) {
    warnUnknownOptions(options, [
      ...SESSION_OPTION_NAMES,
      ...MANAGER_OPTIONS,
      ...registryOf(options.backends ?? {}).registeredOptionNames(),
      ...(options.knownOptions ?? []),
    ]);
  }
  const { backends = {}, onEvent, clock, knownOptions: _known, ...rest } = options;
  const session = coerceSessionParams(rest);
  const now = clock ?? Date.now;
  return {
    session,
    type: session.type ?? (session.data_dir ? 'file' : 'memory'),
    backends,
    clock: now,
    report: onEvent ?? throttledWarningReporter(now),
  };
}

function throttledWarningReporter(clock: () => number): (event: SessionEvent) => void {
  const warnings = new ThrottledWarnings('BeakerSessionWarning', clock);
  return (event) => {
    warnings.emit(eventWarningCode(event.type), event.message);
  };
}

/**
 * The keys as lists, refused when shorter than {@link MIN_KEY_BYTES} (unless `allow_short_keys`) or missing where
 * cookie sessions need one; unsigned ids are warned about once.
 */
export function checkedSessionKeys(options: SessionOptions, type: string): SessionKeys {
  const secrets = keyList(options.secret);
  const validateKeys = keyList(options.validate_key);
  const encryptKeys = keyList(options.encrypt_key);
  checkKeyLengths(
    { secret: secrets, validate_key: validateKeys, encrypt_key: encryptKeys },
    options.allow_short_keys === true,
  );
  if (type === 'cookie' && validateKeys.length === 0) {
    throw new ConfigError('No validate_key specified for Cookie only Session.', { option: 'validate_key' });
  }
  if (type !== 'cookie' && secrets.length === 0 && options.use_cookies !== false) {
    warnOnce(
      'BEAKER_UNSIGNED_SESSION_ID',
      'Session ids are sent unsigned: set session.secret (unknown ids are still never adopted).',
    );
  }
  return { beaker: beakerEncoding(options, validateKeys, encryptKeys), secrets, validateKeys, encryptKeys };
}

function beakerEncoding(
  options: SessionOptions,
  validateKeys: string[],
  encryptKeys: string[],
): BeakerEncoding | undefined {
  const cipher = options.crypto_type;
  if (cipher !== 'cryptography' && cipher !== 'pycrypto') return undefined;
  const encoding: BeakerEncoding = {
    cipher,
    validateKey: validateKeys[0] ?? '',
    nonceBits: options.encrypt_nonce_bits ?? 128,
  };
  if (encryptKeys[0] !== undefined) encoding.encryptKey = encryptKeys[0];
  return encoding;
}

function keyList(value: string | string[] | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** What makes a key guessable offline from one cookie, or undefined for a key that is long and varied enough. */
function keyWeakness(value: string): string | undefined {
  if (Buffer.byteLength(value) < MIN_KEY_BYTES) return `is shorter than ${MIN_KEY_BYTES} bytes`;
  // A long key of a few repeated characters ('a' × 32, 'abab...') has almost no entropy.
  const distinct = new Set(value).size;
  if (distinct < MIN_DISTINCT_KEY_CHARACTERS) return `repeats ${distinct} character(s) only`;
  return undefined;
}

function checkKeyLengths(keys: Record<string, string[]>, allowShort: boolean): void {
  for (const [option, values] of Object.entries(keys)) {
    for (const value of values) {
      const weakness = keyWeakness(value);
      if (weakness === undefined) continue;
      if (!allowShort) {
        throw new ConfigError(
          `Session ${option} ${weakness}, so it can be guessed offline from one cookie. ` +
            'Use a long random value (openssl rand -hex 32), or set allow_short_keys = true to keep a key from an existing deployment.',
          { option, value, secret: true },
        );
      }
      warnOnce(
        'BEAKER_SHORT_SESSION_KEY',
        `Session ${option} ${weakness} (allowed by allow_short_keys): replace it with a long random value.`,
      );
    }
  }
}

/** Warns once per process and code (a risky but explicit choice). */
function warnOnce(code: string, message: string): void {
  if (warnedOnce.has(code)) return;
  warnedOnce.add(code);
  process.emitWarning(message, { type: 'BeakerSessionWarning', code });
}

/** The settings every session reads: the cookie, expiry and timeouts, saving, the data format, time and ids. */
export function sharedSessionSettings(resolved: ResolvedManagerOptions): SessionSettings {
  const options = resolved.session;
  const timeoutMs = typeof options.timeout === 'number' ? options.timeout * 1000 : null;
  return {
    cookieName: options.key ?? 'beaker.session.id',
    useCookies: options.use_cookies !== false,
    attributes: cookieAttributes(options),
    cookieExpires: options.cookie_expires ?? true,
    timeoutMs,
    absoluteTimeoutMs: typeof options.absolute_timeout === 'number' ? options.absolute_timeout * 1000 : null,
    touchIntervalMs: touchInterval(options, timeoutMs),
    auto: options.auto === true,
    autoSaveEmpty: autoSavesEmpty(options),
    invalidateCorrupt: options.invalidate_corrupt !== false,
    forcedId: options.id,
    dataCodec: dataCodec(options),
    clock: resolved.clock,
    report: resolved.report,
    newId: () => randomBytes(16).toString('hex'),
  };
}

/** `auto_save_empty`, warned about once: it stores a session for every visitor without a cookie. */
function autoSavesEmpty(options: SessionOptions): boolean {
  if (options.auto_save_empty !== true) return false;
  if (options.auto === true) {
    warnOnce(
      'BEAKER_AUTO_SAVE_EMPTY',
      'Session auto_save_empty is on: every request without a session cookie that reads its session stores a new ' +
        'one, so cookieless requests fill the store. Leave it off unless an existing deployment needs it.',
    );
  }
  return true;
}

function cookieAttributes(options: SessionOptions): CookieAttributes {
  return {
    domain: options.cookie_domain ?? null,
    path: options.cookie_path ?? '/',
    secure: options.secure === true,
    httpOnly: options.httponly !== false,
    sameSite: options.samesite ?? 'Lax',
  };
}

function touchInterval(options: SessionOptions, timeoutMs: number | null): number | null {
  if (timeoutMs === null || options.save_accessed_time === false) return null;
  if (typeof options.touch_interval === 'number') return options.touch_interval * 1000;
  return Math.min(60_000, Math.max(1000, Math.floor(timeoutMs / 10)));
}

function dataCodec(options: SessionOptions): DataCodec {
  return options.data_serializer === undefined || options.data_serializer === 'json'
    ? jsonDataCodec
    : serializerDataCodec(options.data_serializer);
}

/** The descriptor of the sessions' back-end; checks now that `type` names one (registered, or one of `backends`). */
export function sessionBackendDescriptor(resolved: ResolvedManagerOptions): BackendDescriptor {
  return registryOf(resolved.backends).descriptor(resolved.type);
}

/** The built-in back-ends and `backends`. */
function registryOf(backends: Record<string, BackendDescriptor | BackendFactory>): BackendRegistry {
  const registry = new BackendRegistry();
  for (const [name, backend] of Object.entries(backends)) registry.register(name, backend);
  return registry;
}

/** What opens the back-end of server-side sessions, with exactly the options its descriptor declares. */
export function backendOpener(
  resolved: ResolvedManagerOptions,
  descriptor: BackendDescriptor,
): () => Promise<AnyBackend> {
  const { clock, report } = resolved;
  const backendOptions = backendOptionsOf(descriptor, resolved.session, SESSION_LEVEL_OPTIONS);
  return () => Promise.resolve().then(() => descriptor.create(backendOptions, { clock, report }));
}

/**
 * The locks of one manager's sessions: in this process always, and across processes by the rule caches follow too
 * (the store's own locks, else file locks under `lock_dir` for a store that processes share).
 */
export function sessionLocks(
  descriptor: BackendDescriptor,
  lockDir: string | null | undefined,
): (backend: AnyBackend) => LockProvider {
  const local = new KeyedMutex();
  const shared = new SharedLockChoice();
  return (backend) => new TwoStageLock(local, shared.for(backend, descriptor, lockDir));
}

/** The settings of server-side sessions: ids signed (the Beaker way or beaker-ts's), data sealed with `encrypt_key`. */
export function serverSessionSettings(
  shared: SessionSettings,
  keys: SessionKeys,
  records: SessionRecords,
  maxSizeBytes: number | null,
  idsAtRest: IdsAtRest,
): ServerSessionSettings {
  return {
    ...shared,
    maxSizeBytes,
    ...idsAtRest,
    records,
    userIndex: new UserIndex(records, shared.clock),
    beaker: keys.beaker,
    beakerSecrets: keys.secrets,
    idRing: keys.secrets.length > 0 && !keys.beaker ? new KeyRing(keys.secrets, 'session-id') : undefined,
    dataRing: keys.encryptKeys.length > 0 ? new KeyRing(keys.encryptKeys, 'session-data') : undefined,
  };
}

/** How server-side session ids are kept in the store. */
export interface IdsAtRest {
  hashIds: boolean;
  migrateRawIds: boolean;
}

/** `hash_ids` and `migrate_raw_ids`; raw ids at rest are warned about once. */
export function idsAtRest(options: SessionOptions): IdsAtRest {
  const hashIds = options.hash_ids !== false;
  if (!hashIds) {
    warnOnce(
      'BEAKER_RAW_SESSION_IDS',
      'Session hash_ids is off: records are stored under the session ids themselves, so anyone who can read the ' +
        'store (a dump, a backup) can present them as cookies. Keep it off only for a store shared with Python Beaker.',
    );
  }
  return { hashIds, migrateRawIds: hashIds && options.migrate_raw_ids === true };
}

/** `max_size` when not given: far above any sensible session, far below what would stall a store. */
export const DEFAULT_MAX_SESSION_BYTES = 1_048_576;

/** The largest stored record of a server-side session (`max_size`), or null for no limit. */
export function maxSessionBytes(options: SessionOptions): number | null {
  return options.max_size === undefined ? DEFAULT_MAX_SESSION_BYTES : options.max_size;
}

/** The descriptor of the revocation store of cookie sessions (`revocation_store`), or undefined for none. */
export function revocationStoreDescriptor(resolved: ResolvedManagerOptions): BackendDescriptor | undefined {
  const name = resolved.session.revocation_store;
  return name === undefined || name === null ? undefined : registryOf(resolved.backends).descriptor(name);
}

/** What the revocation list of cookie sessions is checked against: the bound, and how long an entry can matter. */
export function revocationTimes(options: SessionOptions): { intervalMs: number; lifetimeMs: number | null } {
  const interval = options.revocation_check_interval ?? DEFAULT_REVOCATION_CHECK_INTERVAL;
  const lifetime = options.absolute_timeout;
  return { intervalMs: interval * 1000, lifetimeMs: typeof lifetime === 'number' ? lifetime * 1000 : null };
}

/**
 * The settings of cookie sessions: Beaker's cookie format, or beaker-ts's sealed with `encrypt_key` or `validate_key`,
 * checked against `revocations` when `revocation_store` is set.
 */
export function cookieSessionSettings(
  shared: SessionSettings,
  keys: SessionKeys,
  revocations: CookieRevocations | undefined,
): CookieSessionSettings {
  const sealKeys = keys.encryptKeys.length > 0 ? keys.encryptKeys : keys.validateKeys;
  return {
    ...shared,
    beaker: keys.beaker,
    beakerValidateKeys: keys.validateKeys,
    beakerEncryptKeys: keys.encryptKeys,
    cookieRing: keys.beaker ? undefined : new KeyRing(sealKeys, 'cookie-session'),
    revocations,
  };
}
