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
  type CacheConfig,
  type SessionConfig,
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
export function koaSession(config: SessionConfig): Middleware {
  const manager = sessionManagerOf(config);
  const varname = manager.options.webtest_varname;
  return async (ctx: Context, next: Next) => {
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
}

/** Puts a {@link CacheManager} built once on `ctx.cache`. */
export function koaCache(config: CacheConfig): Middleware {
  const manager = cacheManagerOf(config);
  return async (ctx: Context, next: Next) => {
    (ctx as Context & { cache: CacheManager }).cache = manager;
    await next();
  };
}
