/** Error texts reach logs and, through frameworks, sometimes clients: passwords in URLs never appear in them. */
import { describe, expect, it } from 'vitest';
import {
  BackendError,
  BeakerError,
  ConfigError,
  CreationTimeoutError,
  ManagerClosedError,
  MissingDependencyError,
  NamespaceConflictError,
  NotABooleanError,
  RegionNotConfiguredError,
  SessionCookieTooLargeError,
  SessionCorruptError,
  SessionNotLoadedError,
  SqliteError,
  TamperedValueError,
  UnencodableValueError,
  UnknownBackendError,
  errors as errorMap,
  SessionTooLargeError,
  SynchronousReadError,
  ValueTooLargeError,
} from '../src/shared/errors.js';
import { sqlaBackend } from '../src/backends/database/index.js';
import { SessionStoreError } from '../src/session/index.js';

describe('credentials in error messages', () => {
  it.each([
    ['redis://:hunter2@10.0.0.1:6379/0', 'redis://:***@10.0.0.1:6379/0'],
    ['rediss://default:hunter2@cache.example:6380', 'rediss://default:***@cache.example:6380'],
    ['postgresql://app:hun%40ter2@db:5432/app', 'postgresql://app:***@db:5432/app'],
    ['mysql://root@db/test', 'mysql://root@db/test'],
    ['redis://a:x@h1,redis://b:y@h2', 'redis://a:***@h1,redis://b:***@h2'],
  ])('masks the password of %s in a BackendError', (url, shown) => {
    const error = new BackendError('ext:redis', `cannot connect to ${url}`);
    expect(error.message).toBe(`[beaker-ts] [ext:redis] cannot connect to ${shown}`);
  });

  it('masks it in the value a ConfigError shows', () => {
    const error = new ConfigError('url is not valid', { option: 'url', value: 'redis://:hunter2@[bad' });
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain('redis://:***@[bad');
  });

  it('keeps the store error out of SessionStoreError.message, which frameworks may send to the client', () => {
    const cause = new BackendError('ext:redis', 'cannot connect to redis://:hunter2@10.0.0.1:6379');
    const error = new SessionStoreError('read the session', { cause });
    expect(error.message).toBe('[beaker-ts] the session store is unavailable: could not read the session');
    expect(error.cause).toBe(cause);
    expect(error.statusCode).toBe(503);
  });
});

/** One instance of each error class, to read its `code`; a class missing here fails the first test below. */
const SAMPLES: Record<string, () => BeakerError> = {
  BeakerError: () => new BeakerError('E_SAMPLE', 'a sample'),
  ConfigError: () => new ConfigError('a sample', { option: 'timeout' }),
  MissingDependencyError: () => new MissingDependencyError('pg', 'a sample'),
  UnknownBackendError: () => new UnknownBackendError('nope', ['file']),
  RegionNotConfiguredError: () => new RegionNotConfiguredError('short', []),
  NamespaceConflictError: () => new NamespaceConflictError('ns'),
  BackendError: () => new BackendError('file', 'a sample'),
  ManagerClosedError: () => new ManagerClosedError(),
  UnencodableValueError: () => new UnencodableValueError('a sample'),
  NotABooleanError: () => new NotABooleanError('maybe'),
  SqliteError: () => new SqliteError('a sample', 'SQLITE_BUSY'),
  SessionStoreError: () => new SessionStoreError('read the session'),
  SessionCorruptError: () => new SessionCorruptError('a sample'),
  SessionCookieTooLargeError: () => new SessionCookieTooLargeError(5000),
  SessionNotLoadedError: () => new SessionNotLoadedError(),
  TamperedValueError: () => new TamperedValueError('a sample'),
  SessionTooLargeError: () => new SessionTooLargeError(2_000_000, 1_048_576),
  SynchronousReadError: () => new SynchronousReadError('ext:redis', 'a sample'),
  ValueTooLargeError: () => new ValueTooLargeError('ext:memcached', 2_000_000, 'a sample limit'),
  CreationTimeoutError: () => new CreationTimeoutError('ns', 'key', 500),
};

/** Every error class a public entry point exports, by name, with the `errors` map's. */
async function exportedErrorClasses(): Promise<Map<string, unknown>> {
  const entryPoints = await Promise.all([
    import('../src/index.js'),
    import('../src/session/index.js'),
    import('../src/cache/index.js'),
    import('../src/config/index.js'),
    import('../src/testing/index.js'),
  ]);
  const found = new Map<string, unknown>(Object.entries(errorMap));
  for (const entryPoint of entryPoints)
    for (const [name, value] of Object.entries(entryPoint) as [string, unknown][])
      if (typeof value === 'function' && (value as { prototype: unknown }).prototype instanceof Error)
        found.set(name, value);
  return found;
}

describe('the error classes', () => {
  it('are each a BeakerError, in the errors map, and the same class wherever they are exported', async () => {
    for (const [name, value] of await exportedErrorClasses()) {
      expect(value === BeakerError || (value as typeof Error).prototype instanceof BeakerError, name).toBe(
        true,
      );
      expect(errorMap[name as keyof typeof errorMap], name).toBe(value);
      expect(Object.keys(SAMPLES), name).toContain(name);
    }
  });

  it('each have their own stable code and their own name', () => {
    const codes = Object.values(errorMap)
      .filter((errorClass) => errorClass !== BeakerError)
      .map((errorClass) => {
        const sample = SAMPLES[errorClass.name]?.();
        expect(sample, errorClass.name).toBeInstanceOf(errorClass);
        expect(sample?.name).toBe(errorClass.name);
        return sample?.code;
      });
    expect(codes.every((code) => typeof code === 'string' && /^E_[A-Z_]+$/.test(code))).toBe(true);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('are still exported from the session module they used to live in', async () => {
    const sessionErrors = await import('../src/session/errors.js');
    expect(sessionErrors.SessionStoreError).toBe(SessionStoreError);
    expect(sessionErrors.STORE_UNAVAILABLE_BODY).toMatch(/^Service Unavailable/);
  });
});

describe('a required option that is missing', () => {
  it('is a ConfigError naming it, for ext:sqla without bind', async () => {
    const context = { clock: Date.now, report: () => undefined };
    await expect(sqlaBackend({}, context)).rejects.toMatchObject({ name: 'ConfigError', option: 'bind' });
  });
});
