/** Error texts reach logs and, through frameworks, sometimes clients: passwords in URLs never appear in them. */
import { describe, expect, it } from 'vitest';
import { BackendError, ConfigError } from '../src/errors.js';
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
