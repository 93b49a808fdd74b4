/**
 * Sessions for plain `node:http`: `SessionMiddleware(handler, config)` wraps a request handler as Beaker's
 * SessionMiddleware wraps a WSGI application. The session is `req.session`; it is saved before the response's
 * headers are written. A store failure becomes a 503.
 *
 * Responses that stream (`writeHead`/`write` before `end`) send their headers early: call
 * `await req.session.save()` before streaming, so that the cookie goes out with them.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CacheManager } from '../cache/index.js';
import {
  isSessionStoreError,
  type AppSessionData,
  type Session,
  type SessionManager,
} from '../session/index.js';
import {
  cacheManagerOf,
  FINISHED_WITHOUT_COOKIES,
  failureBody,
  finishSessionNow,
  reportLateError,
  sessionManagerOf,
  withReady,
  type CacheConfig,
  type Finished,
  type SessionConfig,
  type WithReady,
} from './_shared.js';

/** A request with its session. */
export interface RequestWithSession<T extends object = AppSessionData> extends IncomingMessage {
  session: Session<T>;
}

/** A request with the cache manager. */
export interface RequestWithCache extends IncomingMessage {
  cache: CacheManager;
}

// `unknown`: a handler may return anything, a promise included (so async handlers pass lint rules on void returns).
type Handler<R> = (req: R, res: ServerResponse) => unknown;

/**
 * Attaches a lazy session to `req` and hooks `res` so the session is saved before the response ends.
 * Used by {@link SessionMiddleware} and by the Connect/Express middleware.
 */
export function attachSession(req: IncomingMessage, res: ServerResponse, manager: SessionManager): Session {
  const session = manager.session(req.headers.cookie);
  (req as RequestWithSession).session = session;
  const varname = manager.options.webtest_varname;
  if (typeof varname === 'string') (res as unknown as Record<string, unknown>)[varname] = session;
  // The response's own methods (or those of a middleware that wrapped them before), called on it with apply()
  // rather than bound: no bound function per request.
  /* eslint-disable @typescript-eslint/unbound-method */
  const writeHead = res.writeHead as (this: ServerResponse, ...args: unknown[]) => ServerResponse;
  const end = res.end as (this: ServerResponse, ...args: unknown[]) => ServerResponse;
  /* eslint-enable @typescript-eslint/unbound-method */
  /** The cookies appended so far (made at the first). */
  let sent: string[] | undefined;
  /** The end of the response has added the session's cookies: writeHead, called by end, need not look again. */
  let added = false;
  const addCookies = (cookies: readonly string[]): void => {
    if (res.headersSent) return;
    for (const cookie of cookies) {
      if (sent?.includes(cookie)) continue;
      (sent ??= []).push(cookie);
      res.appendHeader('Set-Cookie', cookie);
    }
  };
  res.writeHead = (...args: unknown[]) => {
    if (!added) addCookies(session.setCookieHeaders());
    return writeHead.apply(res, args);
  };
  let ending = false;
  const finish = (finished: Finished, args: unknown[]): void => {
    if (finished.ok) {
      addCookies(finished.setCookies);
      added = true;
      end.apply(res, args);
    } else if (!res.headersSent) {
      res.statusCode = finished.status;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.removeHeader('Content-Length');
      end.call(res, failureBody(finished.status));
    } else {
      reportLateError(finished.error);
      end.apply(res, args);
    }
  };
  res.end = ((...args: unknown[]) => {
    if (ending) return res;
    ending = true;
    // An unused session has nothing to save or send: end at once, without waiting a turn.
    if (!session.used) return end.apply(res, args);
    // A read-only one (nothing to write, no lock held) ends at once too.
    const finished = finishSessionNow(session);
    if (finished === FINISHED_WITHOUT_COOKIES) {
      added = true;
      end.apply(res, args);
    } else if (finished instanceof Promise)
      void finished.then((outcome) => {
        finish(outcome, args);
      });
    else finish(finished, args);
    return res;
  }) as ServerResponse['end'];
  return session;
}

/**
 * Wraps a `node:http` handler with sessions configured the Beaker way.
 *
 * @example
 * const app = SessionMiddleware(async (req, res) => {
 *   const visits = ((await req.session.get('visits')) ?? 0) + 1;
 *   await req.session.set('visits', visits);
 *   await req.session.save();
 *   res.end(`visit ${visits}`);
 * }, { 'session.type': 'file', 'session.data_dir': './data/sessions', 'session.secret': process.env.SECRET });
 * http.createServer(app).listen(8080);
 */
export function SessionMiddleware<T extends object = AppSessionData>(
  handler: Handler<RequestWithSession<T>>,
  config: SessionConfig,
): WithReady<(req: IncomingMessage, res: ServerResponse) => void> {
  const manager = sessionManagerOf(config);
  const wrapped = (req: IncomingMessage, res: ServerResponse): void => {
    attachSession(req, res, manager);
    void runHandler(() => handler(req as RequestWithSession<T>, res), res);
  };
  return withReady(wrapped, manager);
}

/** Runs a handler; a session store failure becomes a 503, any other error a 500 (logged, as Express does). */
async function runHandler(run: () => unknown, res: ServerResponse): Promise<void> {
  try {
    await run();
  } catch (error) {
    const status = isSessionStoreError(error) ? 503 : 500;
    if (status === 500) console.error(error);
    if (res.headersSent) return;
    res.statusCode = status;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(failureBody(status));
  }
}

/** Wraps a `node:http` handler with `req.cache`, a {@link CacheManager} built once (Beaker's CacheMiddleware). */
export function CacheMiddleware(
  handler: Handler<RequestWithCache>,
  config: CacheConfig,
): WithReady<Handler<IncomingMessage>> {
  const manager = cacheManagerOf(config);
  const wrapped: Handler<IncomingMessage> = async (req, res) => {
    (req as RequestWithCache).cache = manager;
    await handler(req as RequestWithCache, res);
  };
  return withReady(wrapped, manager);
}
