/**
 * Sessions for Fastify: `fastify.register(fastifySession, { config })`, then `request.session`. The session is saved
 * in the `onSend` hook, before the headers go out; a store failure becomes a 503.
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CacheManager } from '../cache/index.js';
import { SessionManager, type AppSessionData, type Session } from '../session/index.js';
import {
  cacheManagerOf,
  failureBody,
  finishSession,
  sessionManagerOf,
  type CacheConfig,
  type SessionConfig,
} from './_shared.js';

/** A Fastify request with its session. */
export type RequestWithSession<T extends object = AppSessionData> = FastifyRequest & {
  session: Session<T>;
};

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's session (registered by `fastifySession`), typed from the application's `SessionData`. */
    session: Session;
  }
}

// Fastify applies a plugin to the whole application (not one encapsulated context) when it carries this symbol.
const SKIP_OVERRIDE = Symbol.for('skip-override');

/** Registers sessions; `register` rejects when the store cannot work as configured (see `SessionManager.ready`). */
async function sessionPlugin(fastify: FastifyInstance, options: { config: SessionConfig }): Promise<void> {
  const manager = sessionManagerOf(options.config);
  await manager.ready();
  const varname = manager.options.webtest_varname;
  fastify.decorateRequest('session', null, []);
  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const session = manager.session(request.headers.cookie);
    (request as RequestWithSession).session = session;
    if (typeof varname === 'string') (reply as unknown as Record<string, unknown>)[varname] = session;
  });
  fastify.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const finished = await finishSession((request as RequestWithSession).session);
    if (!finished.ok) {
      void reply.code(finished.status).type('text/plain; charset=utf-8');
      return failureBody(finished.status);
    }
    for (const cookie of finished.setCookies) void reply.header('set-cookie', cookie);
    return payload;
  });
  // Close only a manager this plugin built.
  if (!(options.config instanceof SessionManager)) fastify.addHook('onClose', async () => manager.close());
}

/** The Fastify plugin: `fastify.register(fastifySession, { config })`. */
export const fastifySession = Object.assign(sessionPlugin, { [SKIP_OVERRIDE]: true });

/** Registers the cache manager; `register` rejects when a store cannot work as configured (`CacheManager.ready`). */
async function cachePlugin(fastify: FastifyInstance, options: { config: CacheConfig }): Promise<void> {
  const manager: CacheManager = cacheManagerOf(options.config);
  await manager.ready();
  fastify.decorateRequest('cache', { getter: () => manager });
  if (!(options.config instanceof CacheManager)) fastify.addHook('onClose', async () => manager.close());
}

/** Puts a {@link CacheManager} built once on `request.cache`: `fastify.register(fastifyCache, { config })`. */
export const fastifyCache = Object.assign(cachePlugin, { [SKIP_OVERRIDE]: true });
