/**
 * One server of the sessions benchmark, in its own process: `/read` reads the session's counter, `/write`
 * increments and saves it, `/plain` does not touch the session, `/__ops` reports store operations per request.
 * Argument: the scenario name. Prints the port when listening.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cookieSession from 'cookie-session';
import express from 'express';
import expressSession from 'express-session';
import { getIronSession } from 'iron-session';
import { attachSession, type RequestWithSession } from '../dist/adapters/node-http.js';
import { sessionMiddleware } from '../dist/adapters/express.js';
import { SessionManager } from '../dist/index.js';
import { FileBackend } from '../dist/backends/file/index.js';
import { MemoryBackend } from '../dist/backends/memory/index.js';
import type { Backend } from '../dist/backends/index.js';

const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const scenario = process.argv[2] ?? 'node-plain';
const ops = { requests: 0, reads: 0, writes: 0 };
const PAYLOAD = {
  name: 'Ada Lovelace',
  roles: ['admin', 'editor'],
  preferences: { theme: 'dark', lang: 'en-GB' },
  cart: [101, 202, 303],
};

/** Counts store reads and writes of a beaker-ts back-end. */
function counting(backend: Backend): Backend {
  return new Proxy(backend, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property === 'get')
        return (...args: Parameters<Backend['get']>) => ((ops.reads += 1), target.get(...args));
      if (property === 'set')
        return (...args: Parameters<Backend['set']>) => ((ops.writes += 1), target.set(...args));
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function beakerManager(kind: 'memory' | 'file' | 'cookie'): SessionManager {
  if (kind === 'cookie') return new SessionManager({ type: 'cookie', validate_key: SECRET });
  const clock = { clock: Date.now, report: () => undefined };
  const backend =
    kind === 'memory'
      ? new MemoryBackend({}, clock)
      : new FileBackend({ file_dir: mkdtempSync(join(tmpdir(), 'bench-sessions-')) }, clock);
  return new SessionManager({ type: 'bench', secret: SECRET, backends: { bench: () => counting(backend) } });
}

type Counter = { count?: number; profile?: typeof PAYLOAD };

async function beakerRoute(req: RequestWithSession<Counter>, res: ServerResponse): Promise<void> {
  ops.requests += 1;
  if (req.url === '/write') {
    await req.session.set('count', ((await req.session.get('count')) ?? 0) + 1);
    await req.session.set('profile', PAYLOAD);
    await req.session.save();
  } else if (req.url === '/read') {
    await req.session.get('count');
  }
  res.end('ok');
}

function opsRoute(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.url !== '/__ops') return false;
  res.end(JSON.stringify(ops));
  ops.requests = ops.reads = ops.writes = 0;
  return true;
}

function nodeServer(handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>) {
  return createServer((req, res) => {
    if (opsRoute(req, res)) return;
    void handler(req, res);
  });
}

function expressApp(configure: (app: express.Express) => void) {
  const app = express();
  app.get('/__ops', (req, res) => void opsRoute(req, res));
  configure(app);
  return createServer(app);
}

/** express-session's MemoryStore, counting get/set/touch. */
function countingMemoryStore(): expressSession.MemoryStore {
  const store = new expressSession.MemoryStore();
  const { get, set, touch } = store;
  store.get = (...args) => ((ops.reads += 1), get.apply(store, args));
  store.set = (...args) => ((ops.writes += 1), set.apply(store, args));
  store.touch = (...args) => ((ops.writes += 1), touch.apply(store, args));
  return store;
}

const servers: Record<string, () => ReturnType<typeof createServer>> = {
  'node-plain': () => nodeServer((_req, res) => void res.end('ok')),
  'express-plain': () => expressApp((app) => app.get('/*path', (_req, res) => void res.send('ok'))),
  'beaker-memory': () => {
    const manager = beakerManager('memory');
    return nodeServer(
      (req, res) => (attachSession(req, res, manager), beakerRoute(req as RequestWithSession<Counter>, res)),
    );
  },
  'beaker-file': () => {
    const manager = beakerManager('file');
    return nodeServer(
      (req, res) => (attachSession(req, res, manager), beakerRoute(req as RequestWithSession<Counter>, res)),
    );
  },
  'beaker-cookie': () => {
    const manager = beakerManager('cookie');
    return nodeServer(
      (req, res) => (attachSession(req, res, manager), beakerRoute(req as RequestWithSession<Counter>, res)),
    );
  },
  'beaker-express-memory': () =>
    expressApp((app) => {
      app.use(sessionMiddleware(beakerManager('memory')));
      app.get('/*path', (req, res) => void beakerRoute(req as unknown as RequestWithSession<Counter>, res));
    }),
  'beaker-express-cookie': () =>
    expressApp((app) => {
      app.use(sessionMiddleware(beakerManager('cookie')));
      app.get('/*path', (req, res) => void beakerRoute(req as unknown as RequestWithSession<Counter>, res));
    }),
  'express-session': () =>
    expressApp((app) => {
      app.use(
        expressSession({
          secret: SECRET,
          resave: false,
          saveUninitialized: false,
          store: countingMemoryStore(),
        }),
      );
      app.get('/*path', (req, res) => {
        ops.requests += 1;
        const session = req.session as unknown as Counter;
        if (req.path === '/write') {
          session.count = (session.count ?? 0) + 1;
          session.profile = PAYLOAD;
        } else if (req.path === '/read') void session.count;
        res.send('ok');
      });
    }),
  'cookie-session': () =>
    expressApp((app) => {
      app.use(cookieSession({ name: 'session', keys: [SECRET] }));
      app.get('/*path', (req, res) => {
        ops.requests += 1;
        const session = req.session as Counter;
        if (req.path === '/write') {
          session.count = (session.count ?? 0) + 1;
          session.profile = PAYLOAD;
        } else if (req.path === '/read') void session.count;
        res.send('ok');
      });
    }),
  'iron-session': () =>
    nodeServer(async (req, res) => {
      ops.requests += 1;
      const session = await getIronSession<Counter>(req, res, { password: SECRET, cookieName: 'iron' });
      if (req.url === '/write') {
        session.count = (session.count ?? 0) + 1;
        session.profile = PAYLOAD;
        await session.save();
      } else if (req.url === '/read') void session.count;
      res.end('ok');
    }),
};

const server = (servers[scenario] ?? (servers['node-plain'] as () => ReturnType<typeof createServer>))();
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
