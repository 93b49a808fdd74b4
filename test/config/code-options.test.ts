/** Options given in code get the same misspelling check as flat keys (JavaScript callers have no type check). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CacheManager, SessionManager, parseSessionConfigOptions } from '../../src/index.js';
import { SECRET } from '../session/helpers.js';

function warningsDuring(run: () => void): string[] {
  const spy = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    run();
    return spy.mock.calls.map(([message]) => String(message));
  } finally {
    spy.mockRestore();
  }
}

describe('unknown options given in code', () => {
  afterEach(() => vi.restoreAllMocks());

  it('warns about a misspelled session option, naming the nearest one', () => {
    const warnings = warningsDuring(() => {
      new SessionManager({ timout: 1800, secret: SECRET } as never);
    });
    expect(warnings).toEqual([
      'Unknown option "timout": neither beaker-ts nor a back-end declares it, so only a back-end registered as a plain factory receives it. Did you mean "timeout"?',
    ]);
  });

  it('warns about a misspelled cache option, globally and in a region', () => {
    const warnings = warningsDuring(() => {
      new CacheManager({ expir: 60, cache_regions: { short: { lock_timout: 5 } } } as never);
    });
    expect(warnings).toEqual([
      'Unknown option "expir": neither beaker-ts nor a back-end declares it, so only a back-end registered as a plain factory receives it. Did you mean "expire"?',
      'Unknown option "cache_regions.short.lock_timout": neither beaker-ts nor a back-end declares it, so only a back-end registered as a plain factory receives it. Did you mean "cache_regions.short.lock_timeout"?',
    ]);
  });

  it('accepts every back-end option, the manager options and the names listed in knownOptions', () => {
    const warnings = warningsDuring(() => {
      new SessionManager({
        type: 'memory',
        secret: SECRET,
        url: 'redis://127.0.0.1:6379',
        project_id: 'p',
        datastore_namespace: 'ns',
        lock_lease: 10,
        onEvent: () => undefined,
        knownOptions: ['bucket'],
        bucket: 'b',
      } as never);
      new CacheManager({ type: 'memory', timeout: 60, redis_module: 'ioredis', clock: Date.now });
    });
    expect(warnings).toEqual([]);
  });

  it('warns once for a flat key: what parseSessionConfigOptions returned is not checked again', () => {
    const warnings = warningsDuring(() => {
      new SessionManager(parseSessionConfigOptions({ 'session.timout': '60', 'session.secret': SECRET }));
    });
    expect(warnings).toEqual([
      'Unknown option "session.timout": neither beaker-ts nor a back-end declares it, so only a back-end registered as a plain factory receives it. Did you mean "session.timeout"?',
    ]);
  });
});
