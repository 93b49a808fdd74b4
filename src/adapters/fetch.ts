/**
 * Sessions for the Fetch API (`Request` → `Response`): Hono, and other web-standard runtimes.
 * `withSession(handler, config)` wraps a fetch handler; the handler gets the session as its second argument, or
 * through `getSession(request)` (from Hono: `getSession(c.req.raw)`). A store failure becomes a 503.
 * @module
 */
import type { CacheManager } from '../cache/index.js';
import { isSessionStoreError, type AppSessionData, type Session } from '../session/index.js';
import {
  cacheManagerOf,
  failureBody,
  finishSession,
  sessionManagerOf,
  withReady,
  type CacheConfig,
  type SessionConfig,
  type WithReady,
} from './_shared.js';

type FetchHandler<C> = (request: Request, context: C) => Response | Promise<Response>;

const sessions = new WeakMap<Request, Session>();
const caches = new WeakMap<Request, CacheManager>();
const responseSessions = new WeakMap<Response, Session>();

/** The session of a request handled by {@link withSession}. */
export function getSession<T extends object = AppSessionData>(request: Request): Session<T> {
  const session = sessions.get(request);
  if (!session) throw new TypeError('This request has no session: wrap the handler with withSession().');
  return session as Session<T>;
}

/** The session behind a response, when `webtest_varname` is set (for tests). */
export function sessionOfResponse(response: Response): Session | undefined {
  return responseSessions.get(response);
}

/**
 * @example
 * // Hono
 * const app = new Hono();
 * app.get('/', async (c) => {
 *   const session = getSession(c.req.raw);
 *   await session.set('seen', true);
 *   await session.save();
 *   return c.text('ok');
 * });
 * export default { fetch: withSession((request) => app.fetch(request), config) };
 */
export function withSession<T extends object = AppSessionData>(
  handler: FetchHandler<{ session: Session<T> }>,
  config: SessionConfig,
): WithReady<(request: Request) => Promise<Response>> {
  const manager = sessionManagerOf(config);
  const testing = typeof manager.options.webtest_varname === 'string';
  const wrapped = async (request: Request): Promise<Response> => {
    const session = manager.session<T>(request.headers.get('cookie') ?? undefined);
    sessions.set(request, session);
    let response: Response;
    try {
      response = await handler(request, { session });
    } catch (error) {
      if (!isSessionStoreError(error)) throw error;
      return failureResponse(503);
    }
    const finished = await finishSession(session);
    if (!finished.ok) return failureResponse(finished.status);
    const out = finished.setCookies.length === 0 ? response : withCookies(response, finished.setCookies);
    if (testing) responseSessions.set(out, session);
    return out;
  };
  return withReady(wrapped, manager);
}

function failureResponse(status: 503 | 500): Response {
  return new Response(failureBody(status), {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
  });
}

/** A response with Set-Cookie headers added (copying it when its headers are immutable). */
function withCookies(response: Response, cookies: readonly string[]): Response {
  let out = response;
  try {
    for (const cookie of cookies) out.headers.append('set-cookie', cookie);
  } catch {
    out = new Response(response.body, response);
    for (const cookie of cookies) out.headers.append('set-cookie', cookie);
  }
  return out;
}

/** Wraps a fetch handler so that `getCacheManager(request)` gives a {@link CacheManager} built once. */
export function withCache(
  handler: FetchHandler<{ cache: CacheManager }>,
  config: CacheConfig,
): WithReady<(request: Request) => Promise<Response>> {
  const manager = cacheManagerOf(config);
  const wrapped = async (request: Request): Promise<Response> => {
    caches.set(request, manager);
    return handler(request, { cache: manager });
  };
  return withReady(wrapped, manager);
}

/** The cache manager of a request handled by {@link withCache}. */
export function getCacheManager(request: Request): CacheManager {
  const manager = caches.get(request);
  if (!manager) throw new TypeError('This request has no cache manager: wrap the handler with withCache().');
  return manager;
}
