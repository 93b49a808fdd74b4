/**
 * `SessionManager`: resolves the session options once (back-end, keys, cookie attributes, formats) and hands out a
 * lazy {@link Session} per request. Frameworks reach it through the adapters.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Backend, BackendFactory } from '../backends/contract.js';
import { backendOptionsOf, type BackendDescriptor } from '../backends/define.js';
import { BackendRegistry } from '../backends/registry.js';
import { SharedLockChoice } from '../backends/shared-locks.js';
import { SESSION_LEVEL_OPTIONS } from '../config/session-options.js';
import { SESSION_OPTION_NAMES, coerceSessionParams, type SessionOptions } from '../config/index.js';
import { optionNamesChecked, warnUnknownOptions } from '../config/parse.js';
import { eventWarningCode, ThrottledWarnings } from '../config/warnings.js';
import { ConfigError, isConfigurationError, redactCredentials } from '../errors.js';
import { KeyedMutex } from '../locks/keyed-mutex.js';
import { TwoStageLock } from '../locks/two-stage.js';
import type { LockProvider } from '../locks/contract.js';
import type { CookieAttributes } from './cookies.js';
import { KeyRing, type BeakerEncoding } from './crypto.js';
import { jsonDataCodec, serializerDataCodec, type DataCodec } from './format.js';
import type { AppSessionData } from './data.js';
import { Session, type SessionEvent, type SessionSettings } from './session.js';

/** Options of {@link SessionManager}: the output of `parseSessionConfigOptions`, plus what only code can give. */
export interface SessionManagerOptions extends SessionOptions {
  /** Back-ends to register, by `type` name: descriptors (`defineBackend`) or plain factories. */
  backends?: Record<string, BackendDescriptor | BackendFactory>;
  /** Receives problems that do not fail a request (a corrupt session replaced, a lock not obtained). */
  onEvent?: (event: SessionEvent) => void;
  /** The current time in ms since the epoch; inject a fake clock in tests. */
  clock?: () => number;
  /**
   * Option names to accept without a warning: the options of back-ends you registered yourself. Any other unknown
   * option is passed to the back-end and reported with a `BeakerConfigWarning` naming the nearest known option.
   * @default []
   */
  knownOptions?: readonly string[];
}

/** What the manager's options may hold besides the session options. */
const MANAGER_OPTIONS = ['backends', 'onEvent', 'clock', 'knownOptions'];

const MIN_KEY_BYTES = 32;
/** The namespace of server-side session records in their back-end. */
export const SESSION_NAMESPACE = 'beaker.session';
const warnedOnce = new Set<string>();

function keyList(value: string | string[] | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Warns once per process and code (a risky but explicit choice). */
function warnOnce(code: string, message: string): void {
  if (warnedOnce.has(code)) return;
  warnedOnce.add(code);
  process.emitWarning(message, { type: 'BeakerSessionWarning', code });
}

/**
 * Sessions configured the Beaker way.
 *
 * @example
 * const sessions = new SessionManager(parseSessionConfigOptions(config));
 * const session = sessions.session(request.headers.cookie);
 * await session.set('user', 'ada');
 * await session.save();
 */
export class SessionManager {
  readonly options: Readonly<SessionOptions>;
  readonly #settings: SessionSettings;
  #backend: Promise<Backend> | undefined;
  readonly #backendFactory: (() => Promise<Backend>) | undefined;

  constructor(options: SessionManagerOptions = {}) {
    if (!optionNamesChecked(options)) {
      warnUnknownOptions(options, [
        ...SESSION_OPTION_NAMES,
        ...MANAGER_OPTIONS,
        ...(options.knownOptions ?? []),
      ]);
    }
    const { backends = {}, onEvent, clock, knownOptions: _known, ...rest } = options;
    const coerced = coerceSessionParams(rest);
    this.options = coerced;
    const type = coerced.type ?? (coerced.data_dir ? 'file' : 'memory');
    const now = clock ?? Date.now;
    const warnings = new ThrottledWarnings('BeakerSessionWarning', now);
    const report =
      onEvent ??
      ((event: SessionEvent) => {
        warnings.emit(eventWarningCode(event.type), event.message);
      });
    const beaker = coerced.crypto_type === 'cryptography' || coerced.crypto_type === 'pycrypto';
    const secrets = keyList(coerced.secret);
    const validateKeys = keyList(coerced.validate_key);
    const encryptKeys = keyList(coerced.encrypt_key);
    this.#checkKeys(
      { secret: secrets, validate_key: validateKeys, encrypt_key: encryptKeys },
      coerced.allow_short_keys === true,
    );
    if (type === 'cookie' && validateKeys.length === 0) {
      throw new ConfigError('No validate_key specified for Cookie only Session.', { option: 'validate_key' });
    }
    if (type !== 'cookie' && secrets.length === 0 && coerced.use_cookies !== false) {
      warnOnce(
        'BEAKER_UNSIGNED_SESSION_ID',
        'Session ids are sent unsigned: set session.secret (unknown ids are still never adopted).',
      );
    }
    const timeoutMs = typeof coerced.timeout === 'number' ? coerced.timeout * 1000 : null;
    const local = new KeyedMutex();
    let sharedLocks: LockProvider | undefined;
    if (type !== 'cookie') {
      const registry = new BackendRegistry();
      for (const [name, factory] of Object.entries(backends)) registry.register(name, factory);
      const descriptor = registry.descriptor(type);
      const backendOptions = backendOptionsOf(descriptor, coerced, SESSION_LEVEL_OPTIONS);
      this.#backendFactory = async () => {
        const backend = await descriptor.create(backendOptions, { clock: now, report });
        sharedLocks = new SharedLockChoice().for(backend, descriptor, coerced.lock_dir);
        return backend;
      };
    }
    const dataCodec: DataCodec =
      coerced.data_serializer === undefined || coerced.data_serializer === 'json'
        ? jsonDataCodec
        : serializerDataCodec(coerced.data_serializer);
    const cookieExpires = coerced.cookie_expires ?? true;
    this.#settings = {
      kind: type === 'cookie' ? 'cookie' : 'server',
      cookieName: coerced.key ?? 'beaker.session.id',
      useCookies: coerced.use_cookies !== false,
      attributes: {
        domain: coerced.cookie_domain ?? null,
        path: coerced.cookie_path ?? '/',
        secure: coerced.secure === true,
        httpOnly: coerced.httponly !== false,
        sameSite: coerced.samesite ?? 'Lax',
      } satisfies CookieAttributes,
      cookieExpires,
      timeoutMs,
      absoluteTimeoutMs:
        typeof coerced.absolute_timeout === 'number' ? coerced.absolute_timeout * 1000 : null,
      touchIntervalMs: touchInterval(coerced, timeoutMs),
      saveAccessedTime: coerced.save_accessed_time !== false,
      auto: coerced.auto === true,
      invalidateCorrupt: coerced.invalidate_corrupt !== false,
      forcedId: coerced.id,
      dataCodec,
      beaker: beaker
        ? beakerEncoding(
            coerced.crypto_type as BeakerEncoding['cipher'],
            validateKeys,
            encryptKeys,
            coerced.encrypt_nonce_bits ?? 128,
          )
        : undefined,
      beakerSecrets: secrets,
      beakerValidateKeys: validateKeys,
      idRing: secrets.length > 0 && !beaker ? new KeyRing(secrets, 'session-id') : undefined,
      cookieRing:
        type === 'cookie' && !beaker
          ? new KeyRing(encryptKeys.length > 0 ? encryptKeys : validateKeys, 'cookie-session')
          : undefined,
      dataRing:
        type !== 'cookie' && encryptKeys.length > 0 ? new KeyRing(encryptKeys, 'session-data') : undefined,
      backend: () => this.#resolveBackend(),
      locks: () => new TwoStageLock(local, sharedLocks),
      clock: now,
      report,
      newId: () => randomBytes(16).toString('hex'),
    };
  }

  /** The lazy session of one request: nothing is read until it is used. */
  session<T extends object = AppSessionData>(cookieHeader: string | undefined): Session<T> {
    return new Session<T>(this.#settings, cookieHeader);
  }

  /** The stored session `id`, or undefined when the store has none (Beaker's `get_by_id`); creates nothing. */
  async getById<T extends object = AppSessionData>(id: string): Promise<Session<T> | undefined> {
    const session = new Session<T>({ ...this.#settings, useCookies: false, forcedId: id }, undefined);
    await session.load();
    return session.isNew ? undefined : session;
  }

  /**
   * Opens the session store, so that a configuration that cannot work fails at start-up rather than at the first
   * request: rejects with {@link ConfigError} for an invalid back-end option (an unreadable `url`, say) and
   * {@link MissingDependencyError} for a client library that is not installed (an unknown `type` already failed
   * the constructor). A store that is only down does not reject: it is reported as a `store-error` event, and
   * requests get 503 until it is back. The adapters' middlewares have the same `ready()`.
   *
   * @example
   * const sessions = new SessionManager(parseSessionConfigOptions(config));
   * await sessions.ready();
   */
  async ready(): Promise<void> {
    if (!this.#backendFactory) return;
    try {
      await this.#resolveBackend();
    } catch (error) {
      if (isConfigurationError(error)) throw error;
      this.#settings.report({
        type: 'store-error',
        message: `the session store cannot be reached at start-up: ${redactCredentials(error instanceof Error ? error.message : String(error))}`,
        error,
      });
    }
  }

  /** Removes expired sessions from a back-end that keeps them on disk; resolves to how many. */
  async prune(): Promise<number> {
    if (!this.#backendFactory) return 0;
    return (await (await this.#resolveBackend()).prune?.()) ?? 0;
  }

  /** Closes the back-end this manager opened. */
  async close(): Promise<void> {
    if (this.#backend) await (await this.#backend).close();
    this.#backend = undefined;
  }

  #resolveBackend(): Promise<Backend> {
    if (!this.#backendFactory) throw new TypeError('cookie sessions have no back-end');
    this.#backend ??= this.#backendFactory();
    this.#backend.catch(() => (this.#backend = undefined));
    return this.#backend;
  }

  #checkKeys(keys: Record<string, string[]>, allowShort: boolean): void {
    for (const [option, values] of Object.entries(keys)) {
      for (const value of values) {
        if (Buffer.byteLength(value) >= MIN_KEY_BYTES) continue;
        if (!allowShort) {
          throw new ConfigError(
            `Session ${option} is shorter than ${MIN_KEY_BYTES} bytes, so it can be guessed offline from one cookie. ` +
              'Use a long random value (openssl rand -hex 32), or set allow_short_keys = true to keep a key from an existing deployment.',
            { option, value, secret: true },
          );
        }
        warnOnce(
          'BEAKER_SHORT_SESSION_KEY',
          `Session ${option} is shorter than ${MIN_KEY_BYTES} bytes (allowed by allow_short_keys): replace it with a long random value.`,
        );
      }
    }
  }
}

function touchInterval(options: SessionOptions, timeoutMs: number | null): number | null {
  if (timeoutMs === null || options.save_accessed_time === false) return null;
  if (typeof options.touch_interval === 'number') return options.touch_interval * 1000;
  return Math.min(60_000, Math.max(1000, Math.floor(timeoutMs / 10)));
}

function beakerEncoding(
  cipher: BeakerEncoding['cipher'],
  validateKeys: string[],
  encryptKeys: string[],
  nonceBits: number,
): BeakerEncoding {
  const encoding: BeakerEncoding = { cipher, validateKey: validateKeys[0] ?? '', nonceBits };
  if (encryptKeys[0] !== undefined) encoding.encryptKey = encryptKeys[0];
  return encoding;
}
