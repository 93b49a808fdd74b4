/** The adapter behaviour suite against node:http, Express, the Fetch API (Hono), Koa and Fastify. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { describe, expect, it } from 'vitest';
import express from 'express';
import express4 from 'express4';
import Fastify from 'fastify';
import Fastify4 from 'fastify4';
import { Hono } from 'hono';
import Koa from 'koa';
import Koa2 from 'koa2';
import { SessionMiddleware } from '../../src/adapters/node-http.js';
import { sessionMiddleware } from '../../src/adapters/express.js';
import { getSession, withSession } from '../../src/adapters/fetch.js';
import { koaSession, type ContextWithSession } from '../../src/adapters/koa.js';
import { fastifySession, type RequestWithSession } from '../../src/adapters/fastify.js';
import {
  SessionManager,
  type Session,
  type SessionEvent,
  type SessionManagerOptions,
} from '../../src/session/index.js';
import { SECRET, VALIDATE_KEY, countingManager } from '../session/helpers.js';
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

const FRAMEWORKS: [string, (manager: SessionManager) => Promise<RunningApp>][] = [];

FRAMEWORKS.push([
  'node:http',
  (manager) =>
    listening(
      createServer(
        SessionMiddleware<{ value?: number; user?: string }>(async (req, res) => {
          const body = await appLogic(new URL(req.url ?? '/', 'http://x').pathname, req.session);
          res.setHeader('Content-Type', 'text/plain');
          res.end(body);
        }, manager),
      ),
    ),
]);

// Each major still in use: Express 4 (handlers' rejections are not caught, so the app passes them to next), 5.
for (const [name, createApp] of [
  ['Express 5', express],
  ['Express 4', express4],
] as const) {
  FRAMEWORKS.push([
    name,
    (manager) => {
      const app = createApp();
      app.use(sessionMiddleware(manager));
      app.get(/.*/, (req, res, next) => {
        appLogic(req.path, (req as unknown as { session: AppSession }).session).then((body) => {
          res.type('text/plain').send(body);
        }, next);
      });
      return listening(createServer(app));
    },
  ]);
}

FRAMEWORKS.push([
  'Fetch API (Hono)',
  async (manager) => {
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
  },
]);

for (const [name, KoaApp] of [
  ['Koa 3', Koa],
  ['Koa 2', Koa2],
] as const) {
  FRAMEWORKS.push([
    name,
    (manager) => {
      const app = new KoaApp();
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
    },
  ]);
}

for (const [name, createApp] of [
  ['Fastify 5', Fastify],
  // Fastify 4's instance type differs from 5's in ways the plugin does not touch.
  ['Fastify 4', Fastify4 as unknown as typeof Fastify],
] as const) {
  FRAMEWORKS.push([
    name,
    async (manager) => {
      const app = createApp();
      await app.register(fastifySession, { config: manager });
      app.get('/*', async (request, reply) => {
        const path = new URL(request.url, 'http://x').pathname;
        return reply
          .type('text/plain')
          .send(
            await appLogic(path, (request as RequestWithSession<{ value?: number; user?: string }>).session),
          );
      });
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      return { url: address, close: () => app.close() };
    },
  ]);
}

for (const [framework, start] of FRAMEWORKS) describeAdapter(framework, KINDS, start);

// A real client's error names the server, and a URL may carry its password: none of it may reach a client.
const UNREACHABLE_STORES: SessionManagerOptions[] = [
  { type: 'ext:redis', url: 'redis://:hunter2-password@127.0.0.1:1/0' },
  { type: 'ext:redis', url: 'redis://:hunter2-password@127.0.0.1:1/0', redis_module: 'ioredis' },
  { type: 'ext:database', url: 'postgresql://beaker:hunter2-password@127.0.0.1:1/test' },
];

describe.each(FRAMEWORKS)('%s adapter, session store unreachable', (_framework, start) => {
  it.each(UNREACHABLE_STORES)('answers 503 without the store error ($type $redis_module)', async (store) => {
    const events: SessionEvent[] = [];
    const manager = new SessionManager({
      ...store,
      secret: SECRET,
      onEvent: (event) => events.push(event),
    });
    const app = await start(manager);
    try {
      const response = await fetch(`${app.url}/`);
      const body = await response.text();
      expect(response.status).toBe(503);
      expect(body).not.toMatch(/hunter2|127\.0\.0\.1|ECONNREFUSED|connect/);
      // The detail goes to the application's event hook instead, with the password masked there too.
      const reported = events.find((event) => event.type === 'store-error');
      expect(reported?.message).toMatch(/127\.0\.0\.1/);
      expect(JSON.stringify(events.map((event) => event.message))).not.toMatch(/hunter2/);
    } finally {
      await app.close();
      await manager.close();
    }
  });
});
