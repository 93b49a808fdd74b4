/**
 * Every error beaker-ts throws on purpose is a {@link BeakerError}, with a stable `code`
 * so callers can tell them apart without parsing messages.
 * @module
 */

/** Base class of every error beaker-ts throws on purpose. */
export class BeakerError extends Error {
  /** A stable identifier such as `E_CONFIG`. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** What a {@link ConfigError} knows about the option it rejects. */
export interface ConfigErrorDetails {
  /** The option's short name, such as `timeout`. */
  option: string;
  /** The key as the user wrote it, such as `beaker.session.timeout` (the short name when given unprefixed). */
  key?: string;
  /** The value received, before coercion. */
  value?: unknown;
  /** Beaker's own error text for this case, when Beaker has one. */
  beakerMessage?: string;
  /** What a valid value looks like, such as `a whole number of seconds`. */
  expected?: string;
  /** Mask the value in the message: set for secrets and keys. */
  secret?: boolean;
}

/**
 * An invalid configuration value. The message starts with Beaker's own text for the case
 * (so it can be searched for in Beaker's docs) and names the option and the value received.
 */
export class ConfigError extends BeakerError {
  readonly option: string;
  readonly key: string;
  readonly value: unknown;
  /** What is wrong, without the option and value details that the message adds. */
  readonly reason: string;
  readonly beakerMessage: string | undefined;

  constructor(reason: string, details: ConfigErrorDetails, options?: ErrorOptions) {
    const key = details.key ?? details.option;
    const parts: string[] = [];
    if (details.expected !== undefined) parts.push(`expected ${details.expected}`);
    if ('value' in details) parts.push(`received ${describeValue(details.value, details.secret)}`);
    const about = parts.length > 0 ? `: ${parts.join(', ')}` : '';
    super('E_CONFIG', `${reason} (option "${key}"${about})`, options);
    this.option = details.option;
    this.reason = reason;
    this.key = key;
    this.value = details.value;
    this.beakerMessage = details.beakerMessage;
  }
}

/** An optional client library (ioredis, pg, ...) is needed but not installed. */
export class MissingDependencyError extends BeakerError {
  readonly packageName: string;

  /** `options.alternative`: another package that would also do. */
  constructor(packageName: string, feature: string, options?: ErrorOptions & { alternative?: string }) {
    const alternative = options?.alternative;
    super(
      'E_MISSING_DEPENDENCY',
      `${feature} needs the package "${packageName}": install it with \`npm install ${packageName}\`` +
        (alternative === undefined ? '' : ` (or \`npm install ${alternative}\`)`),
      options,
    );
    this.packageName = packageName;
  }
}

/** A `type` that no back-end is registered under. */
export class UnknownBackendError extends BeakerError {
  readonly backendType: string;

  constructor(backendType: string, known: readonly string[], nearest?: string) {
    const hint = nearest === undefined ? '' : ` Did you mean '${nearest}'?`;
    super(
      'E_UNKNOWN_BACKEND',
      `Unknown cache implementation '${backendType}'.${hint} Known: ${known.join(', ')}; ` +
        'add your own with registerBackend(name, factory).',
    );
    this.backendType = backendType;
  }
}

/** A region that the manager's configuration does not define. */
export class RegionNotConfiguredError extends BeakerError {
  readonly region: string;

  constructor(region: string, configured: readonly string[]) {
    const list = configured.length > 0 ? configured.join(', ') : 'none (set cache.regions)';
    super('E_REGION_NOT_CONFIGURED', `Cache region not configured: ${region} (configured regions: ${list})`);
    this.region = region;
  }
}

/** Two different cached functions would share cache keys. */
export class NamespaceConflictError extends BeakerError {
  readonly namespace: string;

  constructor(namespace: string) {
    super(
      'E_NAMESPACE_CONFLICT',
      `Two different cached functions use the namespace "${namespace}" with the same key prefix, so they would ` +
        "read each other's values. Give one of them its own { namespace } option.",
    );
    this.namespace = namespace;
  }
}

/**
 * A storage operation failed (I/O error, server down, timeout). The cause is in `cause`. A password in a URL of the
 * message is masked: messages reach logs.
 */
export class BackendError extends BeakerError {
  readonly backend: string;

  constructor(backend: string, message: string, options?: ErrorOptions) {
    super('E_BACKEND', `[beaker-ts] [${backend}] ${redactCredentials(message)}`, options);
    this.backend = backend;
  }
}

/**
 * The store refused a value for its size (memcached's item size limit): the application's data is too large, not
 * the store down. Nothing was stored.
 */
export class ValueTooLargeError extends BeakerError {
  readonly backend: string;
  /** The size of what was sent, in bytes. */
  readonly bytes: number;

  constructor(backend: string, bytes: number, limit: string, options?: ErrorOptions) {
    super(
      'E_VALUE_TOO_LARGE',
      `[beaker-ts] [${backend}] a value of ${bytes.toLocaleString('en-US')} bytes is larger than the store accepts (${limit}); nothing was stored`,
      options,
    );
    this.backend = backend;
    this.bytes = bytes;
  }
}

/** The manager was closed; it can no longer be used. */
export class ManagerClosedError extends BeakerError {
  constructor() {
    super('E_CLOSED', 'This CacheManager was closed: create a new one.');
  }
}

/**
 * `Cache.peek` cannot answer synchronously: the cache's store is outside this process (it has no synchronous read),
 * or it is not open yet (`await cache.open()` opens it).
 */
export class SynchronousReadError extends BeakerError {
  /** The cache's back-end type, such as `ext:redis`. */
  readonly backend: string;

  constructor(backend: string, reason: string) {
    super('E_NO_SYNC_READ', `Cache.peek() cannot read this cache synchronously: ${reason}`);
    this.backend = backend;
  }
}

/**
 * A creator ran past the cache's `hard_timeout` and was abandoned: its `AbortSignal` was aborted and the creation
 * lock released, so that the next caller may try again.
 */
export class CreationTimeoutError extends BeakerError {
  /** The namespace of the entry being created. */
  readonly namespace: string;
  /** The key of the entry being created. */
  readonly key: string;
  /** The `hard_timeout` that ran out, in ms. */
  readonly timeoutMs: number;

  constructor(namespace: string, key: string, timeoutMs: number) {
    super(
      'E_CREATION_TIMEOUT',
      `Creating the value of ${JSON.stringify(key)} in namespace ${JSON.stringify(namespace)} took longer than ` +
        `hard_timeout (${timeoutMs / 1000} s): the creation was abandoned.`,
    );
    this.namespace = namespace;
    this.key = key;
    this.timeoutMs = timeoutMs;
  }
}

/** A value that the codec cannot encode (a cycle, a function at the top level, ...). */
export class UnencodableValueError extends BeakerError {
  constructor(reason: string, options?: ErrorOptions) {
    super('E_UNENCODABLE_VALUE', `This value cannot be cached: ${reason}`, options);
  }
}

/** A string that is not one of Beaker's boolean forms. */
export class NotABooleanError extends BeakerError {
  constructor(normalized: string) {
    // Beaker's text: Python's %r of the trimmed, lower-cased string.
    super('E_NOT_A_BOOLEAN', `String is not true/false: '${normalized}'`);
  }
}

/** A statement that SQLite (through libsql) refused; SQLite's own code, such as `SQLITE_BUSY`, is `sqliteCode`. */
export class SqliteError extends BeakerError {
  readonly sqliteCode: string | undefined;

  constructor(message: string, sqliteCode: string | undefined) {
    super('E_SQLITE', message);
    this.sqliteCode = sqliteCode;
  }
}

/** The body of the 503 answered when the session store fails. */
export const STORE_UNAVAILABLE_BODY = 'Service Unavailable: the session store cannot be reached.\n';

/**
 * The session store failed (down, timed out, I/O error); the request cannot be served correctly. The message says
 * only what could not be done: frameworks may show it to the client, so the store's own words (hosts, URLs, tables)
 * stay in `cause`, and the session's event hook receives them with passwords masked.
 */
export class SessionStoreError extends BeakerError {
  /** The HTTP status frameworks answer with (Express, Koa and Fastify read `status`/`statusCode`). */
  readonly status = 503;
  readonly statusCode = 503;
  /** Koa: the message may be shown to the client (it says only that the store is unavailable). */
  readonly expose = false;

  /** `what`: the operation that failed, such as `read the session`. */
  constructor(what: string, options?: ErrorOptions) {
    super('E_SESSION_STORE', `[beaker-ts] the session store is unavailable: could not ${what}`, options);
  }

  /** The response to send (Hono's default error handler uses it). */
  getResponse(): Response {
    return new Response(STORE_UNAVAILABLE_BODY, {
      status: 503,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
  }
}

/** The stored session or the session cookie cannot be read, and `invalidate_corrupt` is off. */
export class SessionCorruptError extends BeakerError {
  constructor(message: string, options?: ErrorOptions) {
    super('E_SESSION_CORRUPT', message, options);
  }
}

/**
 * A signed or sealed value (a cookie, an encrypted session record) failed its check: changed, cut, or made with
 * other keys. Sessions treat it as corrupt (the `cause` of a {@link SessionCorruptError}).
 */
export class TamperedValueError extends BeakerError {
  constructor(reason: string) {
    super('E_TAMPERED', reason);
  }
}

/** The cookie session does not fit in a browser's cookie limit. */
export class SessionCookieTooLargeError extends BeakerError {
  readonly bytes: number;

  constructor(bytes: number) {
    super(
      'E_COOKIE_TOO_LARGE',
      `Cookie value is too long to store: the Set-Cookie header would be ${bytes} bytes; browsers keep at most 4096. ` +
        'Store less in the session, or use a server-side session type.',
    );
    this.bytes = bytes;
  }
}

/** A server-side session larger than `max_size`: its save stored nothing. */
export class SessionTooLargeError extends BeakerError {
  /** The size of the session's record, in bytes. */
  readonly bytes: number;
  /** The configured `max_size`. */
  readonly limit: number;

  constructor(bytes: number, limit: number) {
    super(
      'E_SESSION_TOO_LARGE',
      `The session is ${bytes.toLocaleString('en-US')} bytes, more than max_size (${limit.toLocaleString('en-US')}): ` +
        'it was not saved. Store less in the session (keep large data elsewhere, keyed by the session), or raise max_size.',
    );
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** The session was used before `await session.load()` (or any other async access). */
export class SessionNotLoadedError extends BeakerError {
  constructor() {
    super(
      'E_SESSION_NOT_LOADED',
      'The session is not loaded yet: call `await session.load()` (or await get/set) first.',
    );
  }
}

/**
 * Does `error` mean that the store cannot exist as configured (an invalid option, an unknown type, a client library
 * that is not installed), rather than that it is down? Such errors are thrown, never served around.
 */
export function isConfigurationError(error: unknown): boolean {
  return (
    error instanceof ConfigError ||
    error instanceof MissingDependencyError ||
    error instanceof UnknownBackendError
  );
}

const MAX_SHOWN_LENGTH = 80;
/** `scheme://user:password@` (the user may be empty, as in `redis://:password@host`). */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*):[^\s@/]*@/gi;

/** The text with the password of every URL in it masked: `redis://:secret@host` → `redis://:***@host`. */
export function redactCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1:***@');
}

/** Renders a received value for an error message, masking secrets and cutting long strings. */
export function describeValue(value: unknown, secret = false): string {
  if (secret && typeof value === 'string') return `a secret of ${value.length} characters`;
  if (typeof value === 'string') {
    const shown = redactCredentials(value);
    const cut = shown.length > MAX_SHOWN_LENGTH ? `${shown.slice(0, MAX_SHOWN_LENGTH)}…` : shown;
    return JSON.stringify(cut);
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : value.toISOString();
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'function') return 'a function';
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
}

/** Every error class, for `instanceof` checks: `err instanceof errors.ConfigError`. */
export const errors = {
  BeakerError,
  ConfigError,
  MissingDependencyError,
  UnknownBackendError,
  RegionNotConfiguredError,
  NamespaceConflictError,
  BackendError,
  ManagerClosedError,
  UnencodableValueError,
  NotABooleanError,
  SqliteError,
  SessionStoreError,
  SessionCorruptError,
  SessionCookieTooLargeError,
  SessionTooLargeError,
  SessionNotLoadedError,
  TamperedValueError,
  SynchronousReadError,
  ValueTooLargeError,
  CreationTimeoutError,
} as const;
