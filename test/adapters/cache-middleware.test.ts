/** The CacheMiddleware equivalents put one CacheManager, built once from beaker.cache.* options, on each request. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import Koa from 'koa';
import { describe, expect, it } from 'vitest';
import { CacheMiddleware } from '../../src/adapters/node-http.js';
import { cacheMiddleware } from '../../src/adapters/express.js';
import { getCacheManager, withCache } from '../../src/adapters/fetch.js';
import { koaCache } from '../../src/adapters/koa.js';
import { fastifyCache } from '../../src/adapters/fastify.js';
import { CacheManager } from '../../src/index.js';

const CONFIG = {
  'cache.type': 'memory',
  'cache.expire': '60',
  'cache.regions': 'short',
  'cache.short.expire': '5',
};

/** Increments a counter in the request's cache manager (Beaker's test_increment, spec §5.2 case 19). */
async function increment(cache: CacheManager): Promise<string> {
  const counter = cache.getCache<number>('counter');
  const value = ((await counter.get('value')) ?? 0) + 1;
  await counter.put('value', value);
  return String(value);
}

async function threeRequests(
  listen: (port: number) => Promise<{ port: number; close: () => Promise<void> }>,
): Promise<string[]> {
  const { port, close } = await listen(0);
  const bodies: string[] = [];
  for (let index = 0; index < 3; index += 1) {
    bodies.push(await (await fetch(`http://127.0.0.1:${port}/`)).text());
  }
  await close();
  return bodies;
}

function nodeListen(handler: Parameters<typeof createServer>[1]) {
  return async () => {
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      port: (server.address() as AddressInfo).port,
      close: () =>
        new Promise<void>((resolve) =>
          server.close(() => {
            resolve();
          }),
        ),
    };
  };
}

describe('cache middleware equivalents', () => {
  it('node:http CacheMiddleware: 1, 2, 3', async () => {
    const app = CacheMiddleware(async (req, res) => void res.end(await increment(req.cache)), CONFIG);
    expect(await threeRequests(nodeListen(app))).toEqual(['1', '2', '3']);
  });

  it('Express cacheMiddleware: one manager with the configured regions', async () => {
    const middleware = cacheMiddleware(CONFIG);
    const app = nodeListen((req, res) => {
      middleware(req, res, () => {
        const cache = (req as typeof req & { cache: CacheManager }).cache;
        void increment(cache).then((body) => res.end(`${body} ${cache.regions.join(',')}`));
      });
    });
    expect(await threeRequests(app)).toEqual(['1 short', '2 short', '3 short']);
  });

  it('Fetch withCache / getCacheManager', async () => {
    const handler = withCache(
      async (request) => new Response(await increment(getCacheManager(request))),
      CONFIG,
    );
    const bodies = [];
    for (let index = 0; index < 3; index += 1)
      bodies.push(await (await handler(new Request('http://x/'))).text());
    expect(bodies).toEqual(['1', '2', '3']);
  });

  it('Koa koaCache', async () => {
    const app = new Koa();
    app.use(koaCache(CONFIG));
    app.use(async (ctx) => {
      ctx.body = await increment((ctx as typeof ctx & { cache: CacheManager }).cache);
    });
    const callback = app.callback();
    expect(await threeRequests(nodeListen((req, res) => void callback(req, res)))).toEqual(['1', '2', '3']);
  });

  it('Fastify fastifyCache', async () => {
    const app = Fastify();
    await app.register(fastifyCache, { config: CONFIG });
    app.get('/', async (request) => increment((request as typeof request & { cache: CacheManager }).cache));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const bodies = await threeRequests(async () => ({ port, close: () => app.close() }));
    expect(bodies).toEqual(['1', '2', '3']);
  });

  it('accepts a ready CacheManager and typed options too', () => {
    expect(() => cacheMiddleware(new CacheManager())).not.toThrow();
    expect(() => cacheMiddleware({ type: 'memory', expire: 10 })).not.toThrow();
  });
});
