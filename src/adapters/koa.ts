/**
 * Sessions for Koa: `app.use(koaSession(config))`, then `ctx.session`. Koa sends the response after the middleware
 * chain, so the session is saved before anything is written; a store failure becomes a 503.
 * @module
 */
import type { Context, Middleware, Next } from 'koa';
import type { CacheManager } from '../cache/index.js';
import type { AppSessionData, Session } from '../session/index.js';
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

declare module 'koa' {
  interface DefaultContext {
    /** The request's session (set by `koaSession`), typed from the application's `SessionData`. */
    session: Session;
  }
}

/** A Koa context with its session. */
export type ContextWithSession<T extends object = AppSessionData> = Context & {
  session: Session<T>;
};

/** @example app.use(koaSession(config)); app.use(async (ctx) => { await ctx.session.set('seen', true); ... }); */
export function koaSession(config: SessionConfig): WithReady<Middleware> {
  const manager = sessionManagerOf(config);
  const varname = manager.options.webtest_varname;
  const middleware = async (ctx: Context, next: Next): Promise<void> => {
    const session = manager.session(ctx.get('Cookie') || undefined);
    (ctx as ContextWithSession).session = session;
    if (typeof varname === 'string') (ctx.state as Record<string, unknown>)[varname] = session;
    await next();
    const finished = await finishSession(session);
    if (!finished.ok) {
      ctx.status = finished.status;
      ctx.type = 'text/plain';
      ctx.body = failureBody(finished.status);
      return;
    }
    for (const cookie of finished.setCookies) ctx.append('Set-Cookie', cookie);
  };
  return withReady(middleware, manager);
}

/** Puts a {@link CacheManager} built once on `ctx.cache`. */
export function koaCache(config: CacheConfig): WithReady<Middleware> {
  const manager = cacheManagerOf(config);
  const middleware = async (ctx: Context, next: Next): Promise<void> => {
    (ctx as Context & { cache: CacheManager }).cache = manager;
    await next();
  };
  return withReady(middleware, manager);
}
