/** The adapter behaviour suite against node:http, Express, the Fetch API (Hono), Koa and Fastify. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { SessionMiddleware } from '../../src/adapters/node-http.js';
import { sessionMiddleware } from '../../src/adapters/express.js';
import { getSession, withSession } from '../../src/adapters/fetch.js';
import { koaSession, type ContextWithSession } from '../../src/adapters/koa.js';
import { fastifySession, type RequestWithSession } from '../../src/adapters/fastify.js';
import { SessionManager, type Session } from '../../src/session/index.js';
import { VALIDATE_KEY, countingManager } from '../session/helpers.js';
import { appLogic, describeAdapter, type RunningApp } from './adapter-suite.js';

type AppSession = Session<{ value?: number; user?: string }>;

const KINDS = [
  { name: 'server-side', manager: () => countingManager({}, undefined), hasStore: true },
  {
    name: 'cookie',
    manager: () => ({
      manager: new SessionManager({ type: 'cookie', validate_key: VALIDATE_KEY, onEvent: () => undefined }),
    }),
    hasStore: false,
  },
];
// Real time for servers: the counting manager's manual clock would never let a session expire, which is fine here.

function listening(server: Server): Promise<RunningApp> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) =>
            server.close(() => {
              done();
            }),
          ),
      });
    });
  });
}

describeAdapter('node:http', KINDS, (manager) =>
  listening(
    createServer(
      SessionMiddleware<{ value?: number; user?: string }>(async (req, res) => {
        const body = await appLogic(new URL(req.url ?? '/', 'http://x').pathname, req.session);
        res.setHeader('Content-Type', 'text/plain');
        res.end(body);
      }, manager),
    ),
  ),
);

describeAdapter('Express', KINDS, (manager) => {
  const app = express();
  app.use(sessionMiddleware(manager));
  app.get(/.*/, async (req, res) => {
    res
      .type('text/plain')
      .send(await appLogic(req.path, (req as unknown as { session: AppSession }).session));
  });
  return listening(createServer(app));
});

describeAdapter('Fetch API (Hono)', KINDS, async (manager) => {
  const app = new Hono();
  app.get('*', async (c) => c.text(await appLogic(c.req.path, getSession(c.req.raw))));
  const fetchHandler = withSession((request) => app.fetch(request), manager);
  return new Promise((resolve) => {
    const server = serve({ fetch: fetchHandler, hostname: '127.0.0.1', port: 0 }, (info) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done) =>
            server.close(() => {
              done();
            }),
          ),
      });
    });
  });
});

describeAdapter('Koa', KINDS, (manager) => {
  const app = new Koa();
  app.silent = true;
  app.use(koaSession(manager));
  app.use(async (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = await appLogic(
      ctx.path,
      (ctx as ContextWithSession<{ value?: number; user?: string }>).session,
    );
  });
  const callback = app.callback();
  return listening(createServer((req, res) => void callback(req, res)));
});

describeAdapter('Fastify', KINDS, async (manager) => {
  const app = Fastify();
  await app.register(fastifySession, { config: manager });
  app.get('/*', async (request, reply) => {
    const path = new URL(request.url, 'http://x').pathname;
    return reply
      .type('text/plain')
      .send(await appLogic(path, (request as RequestWithSession<{ value?: number; user?: string }>).session));
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: address, close: () => app.close() };
});
