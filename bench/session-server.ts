/**
 * One server of the sessions benchmark, in its own process: `/read` reads the session's counter, `/write`
 * increments and saves it, `/plain` does not touch the session, `/__ops` reports the requests served, the store
 * operations and the process's CPU time since the last `/__ops`. Argument: the scenario name. Prints the port when
 * listening.
 *
 * The `floor-*` servers are the work a session read cannot avoid, written by hand in beaker-ts's formats (the same
 * keys, cookie and record): parse the cookie, verify the HMAC of the signed id and look the record up in a Map (then
 * decode it), or open the AES-GCM sealed cookie and decode it. Nothing is memoized.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hash,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
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
import { SessionManager, type SessionManagerOptions } from '../dist/index.js';
import { FileBackend } from '../dist/backends/file/index.js';
import { MemoryBackend } from '../dist/backends/memory/index.js';
import type { AnyBackend, ObjectBackend, SetOptions } from '../dist/backends/index.js';

const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const scenario = process.argv[2] ?? 'node-plain';
const ops = { requests: 0, reads: 0, writes: 0 };
let cpuSince = process.cpuUsage();
const PAYLOAD = {
  name: 'Ada Lovelace',
  roles: ['admin', 'editor'],
  preferences: { theme: 'dark', lang: 'en-GB' },
  cart: [101, 202, 303],
};

/**
 * Counts store reads and writes of a beaker-ts back-end where they happen: `get`, and `peek` (the synchronous read
 * of a store in this process) when the back-end has one. The wrappers are made once, not per call.
 */
function counting(backend: AnyBackend): AnyBackend {
  // A plain object that delegates (not a Proxy, whose trap would run on every property read of the request path and
  // be counted against beaker-ts): reads and writes are counted where they happen, in get, peek and set.
  const store = backend as ObjectBackend;
  const counted: Record<string, unknown> = {
    type: store.type,
    format: store.format,
    copies: store.copies,
    capabilities: store.capabilities,
    locks: store.locks,
    get: (namespace: string, key: string) => ((ops.reads += 1), store.get(namespace, key)),
    set: (namespace: string, key: string, data: unknown, options?: SetOptions) => (
      (ops.writes += 1),
      store.set(namespace, key, data, options)
    ),
    delete: (namespace: string, key: string) => store.delete(namespace, key),
    keys: (namespace: string) => store.keys(namespace),
    clear: (namespace: string) => store.clear(namespace),
    close: () => store.close(),
  };
  const { peek, prune } = store;
  if (peek)
    counted.peek = (namespace: string, key: string) => ((ops.reads += 1), peek.call(store, namespace, key));
  if (prune) counted.prune = () => prune.call(store);
  return counted as unknown as AnyBackend;
}

function beakerManager(
  kind: 'memory' | 'file' | 'cookie',
  options: SessionManagerOptions = {},
): SessionManager {
  if (kind === 'cookie') return new SessionManager({ type: 'cookie', validate_key: SECRET, ...options });
  const clock = { clock: Date.now, report: () => undefined };
  const backend =
    kind === 'memory'
      ? new MemoryBackend({}, clock)
      : new FileBackend({ file_dir: mkdtempSync(join(tmpdir(), 'bench-sessions-')) }, clock);
  return new SessionManager({
    type: 'bench',
    secret: SECRET,
    backends: { bench: () => counting(backend) },
    ...options,
  });
}

/** Users the `-users` servers bind their sessions to, each with several sessions. */
const USERS = 1000;
let logins = 0;

/**
 * {@link beakerRoute} with sessions bound to users: `/write` binds a new session to one of {@link USERS} users, and
 * `/login` logs in as one (a new id, bound to the user: the user index written under its lock).
 */
async function beakerUserRoute(req: RequestWithSession<Counter>, res: ServerResponse): Promise<void> {
  const session = req.session;
  if (req.url === '/login') {
    await session.regenerateId();
    await session.setUser(`user-${(logins += 1) % USERS}`, { agent: 'bench' });
    await session.save();
    res.end('ok');
    return;
  }
  if (req.url === '/write' && (await session.load()).user === undefined)
    await session.setUser(`user-${(logins += 1) % USERS}`, { agent: 'bench' });
  await beakerRoute(req, res);
}

type Counter = { count?: number; profile?: typeof PAYLOAD };

async function beakerRoute(req: RequestWithSession<Counter>, res: ServerResponse): Promise<void> {
  if (req.url === '/write') {
    await req.session.set('count', ((await req.session.get('count')) ?? 0) + 1);
    await req.session.set('profile', PAYLOAD);
    await req.session.save();
  } else if (req.url === '/read') {
    await req.session.get('count');
  }
  res.end('ok');
}

/** Answers `/__ops` (and starts counting afresh); counts every other request. */
function opsRoute(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.url !== '/__ops') {
    ops.requests += 1;
    return false;
  }
  const cpu = process.cpuUsage(cpuSince);
  res.end(JSON.stringify({ ...ops, cpuMicros: cpu.user + cpu.system }));
  ops.requests = ops.reads = ops.writes = 0;
  cpuSince = process.cpuUsage();
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
  configure(app);
  return createServer((req, res) => {
    if (!opsRoute(req, res)) app(req, res);
  });
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

// ---- the floors: what a session read cannot avoid, by hand, in beaker-ts's formats --------------------------------

const COOKIE_NAME = 'beaker.session.id';
/** beaker-ts's KeyRing derivation (src/session/crypto.ts): HKDF-SHA256, salt `beaker-ts`, 32 bytes. */
const derive = (info: string): Buffer =>
  Buffer.from(hkdfSync('sha256', Buffer.from(SECRET), Buffer.from('beaker-ts'), Buffer.from(info), 32));
const ID_MAC_KEY = derive('beaker-ts session-id hmac-sha256');
const COOKIE_AEAD_KEY = derive('beaker-ts cookie-session aes-256-gcm');
const SET_COOKIE_ATTRIBUTES = '; Path=/; HttpOnly; SameSite=Lax';

/** The session cookie's value in a Cookie header (the first one), or undefined. */
function floorCookie(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const at = header.indexOf(`${COOKIE_NAME}=`);
  if (at < 0) return undefined;
  const end = header.indexOf(';', at);
  return header.slice(at + COOKIE_NAME.length + 1, end < 0 ? header.length : end);
}

/** The id of a signed id `id.base64url(HMAC-SHA256)`, or undefined. */
function floorVerifiedId(value: string): string | undefined {
  const dot = value.lastIndexOf('.');
  if (dot < 0) return undefined;
  const id = value.slice(0, dot);
  const expected = Buffer.from(createHmac('sha256', ID_MAC_KEY).update(id).digest('base64url'));
  const given = Buffer.from(value.slice(dot + 1));
  return expected.length === given.length && timingSafeEqual(expected, given) ? id : undefined;
}

/** A record in beaker-ts's format: meta and version around the data's JSON text. */
function floorRecord(data: Counter, version: number): string {
  const now = Date.now();
  return JSON.stringify({ f: 1, n: version, c: now, a: now, d: JSON.stringify(data) });
}

/** Decodes a record as beaker-ts must: its JSON, its fields checked, then its data's JSON. */
function floorDecodeRecord(text: string): Counter | undefined {
  const record = JSON.parse(text) as { f?: number; c?: unknown; a?: unknown; d?: unknown } | null;
  if (record?.f !== 1 || typeof record.c !== 'number' || typeof record.a !== 'number') return undefined;
  if (typeof record.d !== 'string') return undefined;
  return JSON.parse(record.d) as Counter;
}

/** The key a record is stored under: the id itself, or (`hashed`, beaker-ts's default) its SHA-256 in hex. */
const floorKey = (id: string, hashed: boolean): string => (hashed ? hash('sha256', id, 'hex') : id);

/**
 * Server sessions in a Map, the cookie holding the signed id; `decode` also decodes the record read, `hashed` keys
 * the records by the SHA-256 of the id, as beaker-ts stores them by default.
 */
function floorServer(decode: boolean, hashed = false) {
  const records = new Map<string, string>();
  return nodeServer((req, res) => {
    const value = floorCookie(req.headers.cookie);
    const id = value === undefined ? undefined : floorVerifiedId(value);
    const text = id === undefined ? undefined : records.get(floorKey(id, hashed));
    if (req.url === '/write') {
      const data = text === undefined ? {} : (floorDecodeRecord(text) ?? {});
      const newId = id ?? randomBytes(16).toString('hex');
      records.set(
        floorKey(newId, hashed),
        floorRecord({ count: (data.count ?? 0) + 1, profile: PAYLOAD }, 1),
      );
      const signed = `${newId}.${createHmac('sha256', ID_MAC_KEY).update(newId).digest('base64url')}`;
      res.setHeader('Set-Cookie', `${COOKIE_NAME}=${signed}${SET_COOKIE_ATTRIBUTES}`);
    } else if (req.url === '/read' && text !== undefined && decode) {
      void floorDecodeRecord(text)?.count;
    }
    res.end('ok');
  });
}

/** Cookie sessions sealed as beaker-ts seals them: `b1.` + base64url(IV ‖ AES-256-GCM ciphertext ‖ tag). */
function floorCookieServer() {
  return nodeServer((req, res) => {
    const value = floorCookie(req.headers.cookie);
    let data: Counter | undefined;
    if (value?.startsWith('b1.')) {
      const text = value.slice(3);
      const body = Buffer.from(text, 'base64url');
      if (body.length >= 28 && body.toString('base64url') === text) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', COOKIE_AEAD_KEY, body.subarray(0, 12));
          decipher.setAuthTag(body.subarray(body.length - 16));
          const plain = Buffer.concat([
            decipher.update(body.subarray(12, body.length - 16)),
            decipher.final(),
          ]);
          const payload = JSON.parse(plain.toString('utf8')) as {
            i?: unknown;
            c?: unknown;
            a?: unknown;
            d?: unknown;
          };
          if (typeof payload.i === 'string' && typeof payload.c === 'number' && typeof payload.d === 'string')
            data = JSON.parse(payload.d) as Counter;
        } catch {
          data = undefined;
        }
      }
    }
    if (req.url === '/write') {
      const now = Date.now();
      const payload = JSON.stringify({
        i: randomBytes(16).toString('hex'),
        c: now,
        a: now,
        d: JSON.stringify({ count: (data?.count ?? 0) + 1, profile: PAYLOAD }),
      });
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', COOKIE_AEAD_KEY, iv);
      const sealed = Buffer.concat([iv, cipher.update(payload, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      res.setHeader(
        'Set-Cookie',
        `${COOKIE_NAME}=b1.${sealed.toString('base64url')}${SET_COOKIE_ATTRIBUTES}`,
      );
    } else if (req.url === '/read') void data?.count;
    res.end('ok');
  });
}

const servers: Record<string, () => ReturnType<typeof createServer>> = {
  'floor-id': () => floorServer(false),
  'floor-id-decode': () => floorServer(true),
  'floor-id-decode-hashed': () => floorServer(true, true),
  'floor-cookie': () => floorCookieServer(),
  'node-plain': () => nodeServer((_req, res) => void res.end('ok')),
  'express-plain': () => expressApp((app) => app.get('/*path', (_req, res) => void res.send('ok'))),
  'beaker-memory': () => {
    const manager = beakerManager('memory');
    return nodeServer(
      (req, res) => (attachSession(req, res, manager), beakerRoute(req as RequestWithSession<Counter>, res)),
    );
  },
  'beaker-cookie-revocation': () => {
    // The revocation list in a store of this process: what is measured is the check on each load, not the store.
    const manager = beakerManager('cookie', { revocation_store: 'memory' });
    return nodeServer(
      (req, res) => (
        attachSession(req, res, manager),
        beakerUserRoute(req as RequestWithSession<Counter>, res)
      ),
    );
  },
  'beaker-memory-raw-ids': () => {
    const manager = beakerManager('memory', { hash_ids: false });
    return nodeServer(
      (req, res) => (attachSession(req, res, manager), beakerRoute(req as RequestWithSession<Counter>, res)),
    );
  },
  'beaker-memory-users': () => {
    const manager = beakerManager('memory');
    return nodeServer(
      (req, res) => (
        attachSession(req, res, manager),
        beakerUserRoute(req as RequestWithSession<Counter>, res)
      ),
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
