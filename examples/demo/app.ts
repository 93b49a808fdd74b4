/**
 * The beaker-ts demo application: plain node:http with beaker-ts sessions and caching, configured from an INI file.
 * Pages: a visit counter, log in / log out (the session id is regenerated on login), a flash message, and a slow
 * computation cached in a region, showing hits and misses.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { attachSession, type RequestWithSession } from '../../src/adapters/node-http.js';
import {
  CacheManager,
  SessionManager,
  isSessionStoreError,
  loadIniConfig,
  parseCacheConfigOptions,
  parseSessionConfigOptions,
} from '../../src/index.js';

type DemoSession = { visits?: number; user?: string; flash?: string };

/** A running demo server. */
export interface Demo {
  server: Server;
  url: string;
  close(): Promise<void>;
}

const escape = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;line-height:1.5}
.flash{background:#e7f6e7;border:1px solid #7c7;padding:.5rem 1rem}code{background:#f3f3f3;padding:0 .2rem}</style>
</head><body><h1>${escape(title)}</h1>${body}<p><a href="/">home</a> · <a href="/slow?n=200000">slow page</a></p></body></html>`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 10_000) break;
  }
  return new URLSearchParams(body);
}

/** A slow computation: the sum of squares below n, after a pause. */
async function sumOfSquares(n: number): Promise<string> {
  await sleep(400);
  let sum = 0n;
  for (let i = 0n; i < BigInt(n); i += 1n) sum += i * i;
  return sum.toString();
}

/** Builds the demo from an INI file; `port` 0 picks a free one. */
export async function startDemo(iniPath: string, port = 0): Promise<Demo> {
  const config = await loadIniConfig(iniPath);
  const sessions = new SessionManager(parseSessionConfigOptions(config));
  const caches = new CacheManager(parseCacheConfigOptions(config));
  let computations = 0;
  const slow = caches.region(
    'short_term',
    'squares',
  )(async function squares(n: number) {
    computations += 1;
    return sumOfSquares(n);
  });

  async function route(req: RequestWithSession<DemoSession>, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://demo');
    const session = req.session;
    const send = (status: number, html: string): void => {
      res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
    };
    const redirect = (location: string): void => {
      res.writeHead(303, { Location: location }).end();
    };
    if (req.method === 'POST' && url.pathname === '/login') {
      const user = (await readForm(req)).get('user')?.trim().slice(0, 40) || 'anonymous';
      // A new id on login: an id an attacker planted before login is worthless afterwards.
      await session.regenerateId();
      await session.set('user', user);
      await session.set('flash', `Logged in as ${user}.`);
      await session.save();
      redirect('/');
      return;
    }
    if (req.method === 'POST' && url.pathname === '/logout') {
      await session.delete();
      redirect('/?bye=1');
      return;
    }
    if (url.pathname === '/slow') {
      const n = Math.min(1_000_000, Math.max(1, Number(url.searchParams.get('n')) || 200_000));
      const before = computations;
      const started = performance.now();
      const value = await slow(n);
      const ms = (performance.now() - started).toFixed(1);
      const outcome = computations > before ? 'miss' : 'hit';
      send(
        200,
        page(
          'Slow page',
          `<p>Sum of squares below ${n} = <code>${value}</code></p>
<p id="cache">cache <strong>${outcome}</strong> in ${ms} ms (region <code>short_term</code>, ${computations} computation(s) so far)</p>`,
        ),
      );
      return;
    }
    if (url.pathname === '/healthz') {
      send(200, 'ok');
      return;
    }
    if (url.pathname !== '/') {
      send(404, page('Not found', '<p>No such page.</p>'));
      return;
    }
    const visits = ((await session.get('visits')) ?? 0) + 1;
    await session.set('visits', visits);
    const flash = await session.get('flash');
    if (flash !== undefined) await session.unset('flash');
    await session.save();
    const user = await session.get('user');
    const bye = url.searchParams.has('bye') ? '<p class="flash" id="flash">Logged out.</p>' : '';
    send(
      200,
      page(
        'beaker-ts demo',
        `${flash ? `<p class="flash" id="flash">${escape(flash)}</p>` : bye}
<p id="visits">Visits in this session: <strong>${visits}</strong></p>
${
  user
    ? `<p id="user">Logged in as <strong>${escape(user)}</strong>.</p>
<form method="post" action="/logout"><button id="logout">Log out</button></form>`
    : `<form method="post" action="/login"><label>Name <input name="user" id="name"></label> <button id="login">Log in</button></form>`
}`,
      ),
    );
  }

  const server = createServer((req, res) => {
    attachSession(req, res, sessions);
    route(req as RequestWithSession<DemoSession>, res).catch((error: unknown) => {
      if (res.headersSent) return;
      const status = isSessionStoreError(error) ? 503 : 500;
      if (status === 500) console.error(error);
      res
        .writeHead(status, { 'Content-Type': 'text/plain' })
        .end(status === 503 ? 'Session store unavailable\n' : 'Internal Server Error\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`;
  return {
    server,
    url,
    close: async () => {
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      await Promise.all([sessions.close(), caches.close()]);
    },
  };
}
