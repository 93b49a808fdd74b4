/** Configurations that cannot work fail when the application starts, with an error that names the option and the fix. */
import { describe, expect, it } from 'vitest';
import {
  CacheManager,
  ConfigError,
  SessionManager,
  UnknownBackendError,
  parseSessionConfigOptions,
} from '../../src/index.js';
import type { CacheEvent } from '../../src/cache/index.js';
import { SECRET } from '../session/helpers.js';

describe('start-up errors', () => {
  it('refuses an unknown session type when the manager is built, with the nearest name', () => {
    const build = (): SessionManager => new SessionManager({ type: 'redis', secret: SECRET });
    expect(build).toThrow(UnknownBackendError);
    expect(build).toThrow("Unknown cache implementation 'redis'. Did you mean 'ext:redis'?");
    expect(() => new SessionManager({ type: 'fiel', secret: SECRET })).toThrow("Did you mean 'file'?");
  });

  it.each([
    ['ext:memcached', 'memcached://127.0.0.1:11211'],
    ['ext:memcached', '127.0.0.1:port'],
    ['ext:redis', 'localhost:6379'],
    ['ext:redis', 'redis://:pw@[bad'],
    ['ext:database', 'postgres//127.0.0.1/test'],
  ])('refuses %s with url %s at ready(), naming the option', async (type, url) => {
    const caches = new CacheManager({ type, url, onEvent: () => undefined });
    const sessions = new SessionManager({ type, url, secret: SECRET, onEvent: () => undefined });
    for (const manager of [caches, sessions]) {
      const failure = await manager.ready().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(ConfigError);
      expect((failure as ConfigError).option).toBe('url');
      expect((failure as ConfigError).message).not.toContain(':pw@');
    }
    await Promise.all([caches.close(), sessions.close()]);
  });

  it('refuses an unknown region type at ready(); a store that is only down is reported, named, and not thrown', async () => {
    const misspelt = new CacheManager({ cache_regions: { short: { type: 'ext:redsi' } } });
    await expect(misspelt.ready()).rejects.toThrow("Did you mean 'ext:redis'?");
    const events: CacheEvent[] = [];
    const down = new CacheManager({
      type: 'ext:redis',
      url: 'redis://127.0.0.1:1/0',
      onEvent: (event) => events.push(event),
    });
    await down.ready();
    expect(events.map(({ type, backend }) => `${type} ${backend}`)).toEqual(['backend-error ext:redis']);
    // Calls are served without the store, and their events name it too (before: "[unknown]").
    expect(await down.getCache('ns').get('k', { createfunc: async () => 'made' })).toBe('made');
    expect(events.map(({ backend }) => backend)).toEqual(['ext:redis', 'ext:redis']);
    await down.close();
  });
});

// Cookie attributes browsers would refuse: a ConfigError when the configuration is read, not a 500 at the first save.
describe('session cookie attributes', () => {
  it.each([
    [{ 'session.cookie_domain': 'exa mple.com' }, 'cookie_domain'],
    [{ 'session.cookie_domain': 'example.com;evil' }, 'cookie_domain'],
    [{ 'session.cookie_path': '/app;x' }, 'cookie_path'],
    [{ 'session.key': '__Host-sid' }, 'key'],
    [{ 'session.key': '__Secure-sid' }, 'key'],
    [
      { 'session.key': '__Host-sid', 'session.secure': 'true', 'session.cookie_domain': 'example.com' },
      'key',
    ],
    [{ 'session.key': '__Host-sid', 'session.secure': 'true', 'session.cookie_path': '/app' }, 'key'],
  ])('refuses %o, naming %s', (config, option) => {
    const read = (): unknown => parseSessionConfigOptions({ ...config, 'session.secret': SECRET });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(`"session.${option}"`);
  });

  it('accepts a __Host- cookie sent as browsers want it, and an ordinary domain and path', () => {
    expect(() =>
      parseSessionConfigOptions({
        'session.key': '__Host-sid',
        'session.secure': 'true',
        'session.secret': SECRET,
      }),
    ).not.toThrow();
    expect(() =>
      parseSessionConfigOptions({
        'session.cookie_domain': '.example.com',
        'session.cookie_path': '/app',
        'session.secret': SECRET,
      }),
    ).not.toThrow();
  });
});
