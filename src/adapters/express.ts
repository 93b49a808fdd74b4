/**
 * Sessions for Connect and Express: `app.use(sessionMiddleware(config))`, then `req.session` in handlers. The
 * session is saved before the response's headers are written; a store failure becomes a 503.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Session } from '../session/index.js';
import { attachSession, type RequestWithCache } from './node-http.js';
import {
  cacheManagerOf,
  sessionManagerOf,
  withReady,
  type CacheConfig,
  type SessionConfig,
  type WithReady,
} from './_shared.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** The request's session (set by `sessionMiddleware`), typed from the application's `SessionData`. */
    session: Session;
  }
}

/** A Connect/Express middleware. */
export type ConnectMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * @example
 * app.use(sessionMiddleware({ 'beaker.session.type': 'file', 'beaker.session.data_dir': './data/sessions' }));
 * app.get('/', async (req, res) => { await req.session.set('seen', true); await req.session.save(); res.send('ok'); });
 */
export function sessionMiddleware(config: SessionConfig): WithReady<ConnectMiddleware> {
  const manager = sessionManagerOf(config);
  const middleware: ConnectMiddleware = (req, res, next) => {
    attachSession(req, res, manager);
    next();
  };
  return withReady(middleware, manager);
}

/** Puts a {@link CacheManager} built once on `req.cache`. */
export function cacheMiddleware(config: CacheConfig): WithReady<ConnectMiddleware> {
  const manager = cacheManagerOf(config);
  const middleware: ConnectMiddleware = (req, _res, next) => {
    (req as RequestWithCache).cache = manager;
    next();
  };
  return withReady(middleware, manager);
}
