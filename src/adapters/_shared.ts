/**
 * What every framework adapter shares: building the managers from a Beaker configuration, and finishing a request
 * (persist the session, collect its Set-Cookie headers, turn a store failure into a 503).
 * @module
 */
import { CacheManager, type CacheManagerOptions } from '../cache/index.js';
import { parseCacheConfigOptions, parseSessionConfigOptions, type FlatConfig } from '../config/index.js';
import {
  SessionManager,
  isSessionStoreError,
  type Session,
  type SessionManagerOptions,
} from '../session/index.js';
import { STORE_UNAVAILABLE_BODY } from '../session/errors.js';
import { persistNow } from '../session/session.js';

/**
 * A flat Beaker session dict: `beaker.session.*` or `session.*` keys, as an INI file gives them. Only prefixed keys
 * fit, so that a misspelled typed option (`{ timout: 1800 }`) is a compile error rather than a flat dict.
 */
export type FlatSessionConfig = Readonly<
  Record<`beaker.session.${string}` | `session.${string}` | `session_${string}`, unknown>
>;

/** A flat Beaker cache dict: `beaker.cache.*` or `cache.*` keys. */
export type FlatCacheConfig = Readonly<Record<`beaker.cache.${string}` | `cache.${string}`, unknown>>;

/** A session configuration: a flat Beaker dict (`beaker.session.*` keys), typed options, or a ready manager. */
export type SessionConfig = FlatSessionConfig | SessionManagerOptions | SessionManager;

/** A cache configuration: a flat Beaker dict (`beaker.cache.*` keys), typed options, or a ready manager. */
export type CacheConfig = FlatCacheConfig | CacheManagerOptions | CacheManager;

const SESSION_PREFIX = /^(beaker\.session\.|session\.|session_)/;
const CACHE_PREFIX = /^(beaker\.cache\.|cache\.)/;

export function sessionManagerOf(config: SessionConfig): SessionManager {
  if (config instanceof SessionManager) return config;
  return isFlat(config, SESSION_PREFIX)
    ? new SessionManager(parseSessionConfigOptions(config))
    : new SessionManager(config);
}

export function cacheManagerOf(config: CacheConfig): CacheManager {
  if (config instanceof CacheManager) return config;
  return isFlat(config, CACHE_PREFIX)
    ? new CacheManager(parseCacheConfigOptions(config))
    : new CacheManager(config);
}

/** Is `config` a flat dict (some key has the prefix) rather than typed options? */
function isFlat(config: object, prefix: RegExp): config is FlatConfig {
  return Object.keys(config).some((key) => prefix.test(key));
}

/** A middleware (or handler) with the `ready()` of the manager behind it. */
export type WithReady<F> = F & {
  /**
   * Opens the store, so that a configuration that cannot work (an invalid `url`, a client library that is not
   * installed) fails at start-up: `await middleware.ready()` before listening. A store that is only down does not
   * reject (it is reported, and requests are answered without it or with 503 until it is back).
   */
  ready(): Promise<void>;
};

/** Gives `middleware` the `ready()` of its manager. */
export function withReady<F extends object>(
  middleware: F,
  manager: { ready(): Promise<void> },
): WithReady<F> {
  return Object.assign(middleware, { ready: () => manager.ready() });
}

/** How a request's session ended. */
export type Finished = { ok: true; setCookies: string[] } | { ok: false; status: 503 | 500; error: unknown };

/** Persists the session and returns its Set-Cookie headers, or the status to answer with when that failed. */
export function finishSession(session: Session): Promise<Finished> {
  const finished = finishSessionNow(session);
  return finished instanceof Promise ? finished : Promise.resolve(finished);
}

/**
 * {@link finishSession}, at once when nothing needs waiting for (an unused or read-only session: nothing to write,
 * no lock to release), else as a promise.
 */
export function finishSessionNow(session: Session): Finished | Promise<Finished> {
  let pending: Promise<void> | undefined;
  try {
    pending = persistNow(session);
  } catch (error) {
    return failed(error);
  }
  return pending === undefined ? finished(session) : pending.then(() => finished(session), failed);
}

/** A session finished with no cookie to send (shared: nothing may change it). */
export const FINISHED_WITHOUT_COOKIES: Finished = Object.freeze({ ok: true, setCookies: [] as string[] });
Object.freeze(FINISHED_WITHOUT_COOKIES.setCookies);

function finished(session: Session): Finished {
  try {
    const setCookies = session.setCookieHeaders();
    return setCookies.length === 0 ? FINISHED_WITHOUT_COOKIES : { ok: true, setCookies };
  } catch (error) {
    return failed(error);
  }
}

function failed(error: unknown): Finished {
  return { ok: false, status: isSessionStoreError(error) ? 503 : 500, error };
}

/** The body sent with a 503/500 that replaced the application's response. */
export function failureBody(status: 503 | 500): string {
  return status === 503 ? STORE_UNAVAILABLE_BODY : 'Internal Server Error\n';
}

/** Reports an error that could not become a response (the headers had already gone out). */
export function reportLateError(error: unknown): void {
  process.emitWarning(`a session could not be saved after the response started: ${String(error)}`, {
    type: 'BeakerSessionWarning',
    code: 'BEAKER_SESSION_SAVE_AFTER_HEADERS',
  });
}
