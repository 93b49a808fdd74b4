/**
 * One worker of the beaker-ts demo: plain node:http with beaker-ts sessions (the node:http adapter) and caches,
 * configured from an INI file. Pages: the session, its cookie, the cache regions and the configuration, with log in /
 * log out (the id is regenerated and the session bound to the user on login) and region invalidation; the user's
 * sessions, each of which can be logged out, and "log out everywhere else"; a slow region-cached page; and a dog-pile
 * race that sends many concurrent requests for one cold key to both workers. Every POST needs the session's CSRF token;
 * messages for the next page are flashes kept in the session.
 * @module
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { normalize, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { attachSession, type RequestWithSession } from '../../src/adapters/node-http.js';
import {
  CacheManager,
  SessionManager,
  isSessionStoreError,
  loadIniConfig,
  parseCacheConfigOptions,
  parseSessionConfigOptions,
  type Cache,
} from '../../src/index.js';
import {
  sumStats,
  type Question,
  type RegionReport,
  type WorkerChannel,
  type WorkerReport,
} from './cluster.js';
import {
  CSRF_FIELD,
  ID_PREFIX_LENGTH,
  csrfToken,
  isValidCsrfToken,
  rotateCsrfToken,
  saveAndRecordCookie,
  setFlash,
  takeFlash,
  type DemoSession,
  type DemoSessionHandle,
  type RaceRun,
} from './session-data.js';
import { homePage, messagePage, racePage, sessionsPage, slowPage } from './views.js';

/** The region of the slow page: memory, so each worker has its own copy. */
const SLOW_REGION = 'short_term';
const SLOW_NAMESPACE = 'squares';
/** The region of the dog-pile race: the file store, shared by the workers. */
const RACE_REGION = 'long_term';
const RACE_NAMESPACE = 'race';
const RACE_KEY = 'cold-key';
const RACE_REQUESTS = 50;
/** Long enough that all the race's requests arrive while the value is being created. */
const RACE_CREATE_MS = 1000;
const RACE_REQUEST_TIMEOUT_MS = 40_000;
const FORM_LIMIT_BYTES = 10_000;
/** How much of the user agent a login keeps with the session (`setUser` takes at most 1 KB of info). */
const AGENT_LIMIT = 200;
/** Open connections (browsers keep them alive) get this long to finish before a stopping worker cuts them. */
const CLOSE_GRACE_MS = 2000;

/** What a race response carries. */
interface RaceAnswer {
  pid: number;
  created: boolean;
  value: { createdBy: number; createdAt: string };
  ms: number;
}

const isRaceAnswer = (body: unknown): body is RaceAnswer => {
  if (typeof body !== 'object' || body === null) return false;
  const answer = body as Partial<RaceAnswer>;
  return (
    typeof answer.pid === 'number' &&
    typeof answer.created === 'boolean' &&
    typeof answer.ms === 'number' &&
    typeof answer.value?.createdBy === 'number' &&
    typeof answer.value.createdAt === 'string'
  );
};

/** A running demo worker. */
export interface DemoWorker {
  server: Server;
  port: number;
  /** Stops accepting connections, lets open ones finish (briefly), closes the stores. */
  close(): Promise<void>;
}

/** The request body as a form, read up to a limit (a demo form is a few hundred bytes). */
async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > FORM_LIMIT_BYTES) break;
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

/** GETs a JSON body on a connection of its own, so the cluster may hand each request to a different worker. */
function getJson(port: number, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
      res.on('error', reject);
    });
    req.setTimeout(RACE_REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Summarises the race's answers: who served, who created, and which values came back. */
function summariseRace(answers: (RaceAnswer | undefined)[], reset: boolean, elapsedMs: number): RaceRun {
  const served = answers.filter((answer): answer is RaceAnswer => answer !== undefined);
  const workers = new Map<number, { pid: number; served: number; created: number }>();
  const values = new Map<string, { createdBy: number; createdAt: string; count: number }>();
  for (const answer of served) {
    const worker = workers.get(answer.pid) ?? { pid: answer.pid, served: 0, created: 0 };
    worker.served += 1;
    if (answer.created) worker.created += 1;
    workers.set(answer.pid, worker);
    const valueKey = `${answer.value.createdBy}@${answer.value.createdAt}`;
    const value = values.get(valueKey) ?? { ...answer.value, count: 0 };
    value.count += 1;
    values.set(valueKey, value);
  }
  const times = served.map((answer) => answer.ms);
  return {
    at: new Date().toISOString(),
    requests: answers.length,
    reset,
    created: served.filter((answer) => answer.created).length,
    workers: [...workers.values()].sort((a, b) => a.pid - b.pid),
    values: [...values.values()],
    elapsedMs,
    fastestMs: times.length > 0 ? Math.min(...times) : 0,
    slowestMs: times.length > 0 ? Math.max(...times) : 0,
    failures: answers.length - served.length,
  };
}

/**
 * Starts one worker from an INI file on `port` (in a cluster, the port the workers share; 0 there means one free
 * port for all). `connect` links the worker to the others: it gets this worker's answer to their questions.
 */
export async function startWorker(options: {
  iniPath: string;
  port: number;
  connect: (answer: (question: Question) => Promise<WorkerReport>) => WorkerChannel;
}): Promise<DemoWorker> {
  const config = await loadIniConfig(options.iniPath);
  const sessionConfig = parseSessionConfigOptions(config);
  const cacheConfig = parseCacheConfigOptions(config);
  const sessions = new SessionManager(sessionConfig);
  const caches = new CacheManager(cacheConfig);
  // A configuration that cannot work (a misspelt type, a missing client library) stops the demo here, not at the
  // first request.
  await Promise.all([sessions.ready(), caches.ready()]);
  const pid = process.pid;
  let listeningPort = options.port;

  let computations = 0;
  const slow = caches.region(SLOW_REGION, { namespace: SLOW_NAMESPACE })(async function squares(n: number) {
    computations += 1;
    return sumOfSquares(n);
  });
  const raceCache: Cache<RaceAnswer['value']> = caches.getCacheRegion(RACE_NAMESPACE, RACE_REGION);
  // The namespaces the demo uses in each region: what the statistics sum and what invalidation clears.
  const namespacesByRegion = new Map<string, string[]>([
    [SLOW_REGION, [SLOW_NAMESPACE]],
    [RACE_REGION, [RACE_NAMESPACE]],
  ]);
  const regionCaches = (region: string): Cache[] =>
    (namespacesByRegion.get(region) ?? []).map((namespace) => caches.getCacheRegion(namespace, region));

  /** This worker's report, after clearing the region the question names. */
  async function report(question: Question): Promise<WorkerReport> {
    if (question.invalidate !== undefined)
      await Promise.all(regionCaches(question.invalidate).map((cache) => cache.clear()));
    const regions = await Promise.all(
      caches.regions.map(async (region): Promise<RegionReport> => {
        const regionOptions = cacheConfig.cache_regions?.[region];
        const regionCachesNow = regionCaches(region);
        const keys = await Promise.all(regionCachesNow.map((cache) => cache.keys()));
        return {
          region,
          type: regionOptions?.type ?? 'memory',
          expire: regionOptions?.expire ?? null,
          namespaces: namespacesByRegion.get(region) ?? [],
          entries: keys.reduce((sum, list) => sum + list.length, 0),
          stats: sumStats(regionCachesNow.map((cache) => cache.stats())),
        };
      }),
    );
    return { pid, regions };
  }
  const channel = options.connect(report);

  const {
    secret: _secret,
    validate_key: _validateKey,
    encrypt_key: _encryptKey,
    ...sessionShown
  } = sessionConfig;
  // Secrets stay out of the page model entirely: each is replaced by a placeholder of its length, which is all the
  // view shows ("••• (n chars)").
  const secretPlaceholders = Object.fromEntries(
    (['secret', 'validate_key', 'encrypt_key'] as const)
      .filter((name) => typeof sessionConfig[name] === 'string')
      .map((name) => [name, '•'.repeat(String(sessionConfig[name]).length)]),
  );
  const { cache_regions: regionConfig = {}, ...cacheShown } = cacheConfig;
  const sessionStore = sessionConfig.type ?? 'memory';
  // Cookie sessions live only in their cookies: the server has no list of a user's sessions, nor a way to end one.
  const listable = sessionStore !== 'cookie';

  async function home(session: DemoSessionHandle): Promise<string> {
    const now = new Date();
    const flash = await takeFlash(session);
    const visits = ((await session.get('visits')) ?? 0) + 1;
    await session.set('visits', visits);
    const csrf = await csrfToken(session);
    const startedNow = session.isNew;
    const cookieBefore = await session.get('cookie');
    await saveAndRecordCookie(session, now);
    const cookie = await session.get('cookie');
    const timeoutSeconds = typeof sessionConfig.timeout === 'number' ? sessionConfig.timeout : null;
    const data = await session.all();
    const user = session.user;
    const previousIdPrefix = data.previousIdPrefix;
    return homePage({
      pid,
      ...(flash ? { flash } : {}),
      csrf,
      ...(user !== undefined ? { user } : {}),
      visits,
      session: {
        idPrefix: session.id.slice(0, ID_PREFIX_LENGTH),
        ...(previousIdPrefix !== undefined ? { previousIdPrefix } : {}),
        startedNow,
        created: session.created,
        lastAccessed: session.lastAccessed,
        expires: timeoutSeconds === null ? null : new Date(now.getTime() + timeoutSeconds * 1000),
        timeoutSeconds,
        store: sessionStore,
        keys: Object.keys(data).sort(),
      },
      ...(cookie ? { cookie } : {}),
      cookieSentNow: cookie !== undefined && cookie !== cookieBefore,
      workers: await channel.askAll({}),
      iniPath: relative(process.cwd(), options.iniPath) || options.iniPath,
      sessionConfig: { ...sessionShown, ...secretPlaceholders },
      cacheConfig: cacheShown,
      regionConfig,
    });
  }

  async function userSessions(session: DemoSessionHandle): Promise<string> {
    const flash = await takeFlash(session);
    const csrf = await csrfToken(session);
    // Saved first, so that this browser's last access is the one just recorded.
    await saveAndRecordCookie(session, new Date());
    const user = session.user;
    const listed = listable && user !== undefined ? await sessions.sessionsOf(user) : [];
    return sessionsPage({
      pid,
      ...(flash ? { flash } : {}),
      csrf,
      store: sessionStore,
      listable,
      ...(user !== undefined ? { user } : {}),
      sessions: listed.map(({ ref, hint, created, lastAccessed, info }) => ({
        ref,
        hint,
        created,
        lastAccessed,
        ...(typeof info?.agent === 'string' ? { agent: info.agent } : {}),
        current: ref === session.ref,
      })),
    });
  }

  async function runRace(reset: boolean): Promise<RaceRun> {
    if (reset) await raceCache.remove(RACE_KEY);
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: RACE_REQUESTS }, (_, index) =>
        getJson(listeningPort, `/race/value?request=${index}`).then(
          (body) => (isRaceAnswer(body) ? body : undefined),
          () => undefined,
        ),
      ),
    );
    return summariseRace(answers, reset, performance.now() - started);
  }

  async function route(req: RequestWithSession<DemoSession>, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://demo');
    const session = req.session;
    const send = (status: number, html: string): void => {
      res
        .writeHead(status, {
          'Content-Type': 'text/html; charset=utf-8',
          // Only the inline stylesheet runs: no scripts, no external anything, forms post here only.
          'Content-Security-Policy':
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
          'Cache-Control': 'no-store',
        })
        .end(html);
    };
    const json = (status: number, body: unknown): void => {
      res
        .writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
        .end(JSON.stringify(body));
    };
    const redirect = (location: string): void => {
      res.writeHead(303, { Location: location }).end();
    };

    if (req.method === 'POST') {
      const form = await readForm(req);
      const header = req.headers['x-csrf-token'];
      const presented = form.get(CSRF_FIELD) ?? (typeof header === 'string' ? header : undefined);
      if (!(await isValidCsrfToken(session, presented))) {
        send(
          403,
          messagePage({
            pid,
            title: 'Forbidden',
            text: 'This form’s CSRF token is missing or does not match your session. Reload the page and try again.',
          }),
        );
        return;
      }
      if (url.pathname === '/login') {
        const user = form.get('user')?.trim().slice(0, 40) || 'anonymous';
        await session.set('previousIdPrefix', session.id.slice(0, ID_PREFIX_LENGTH));
        // A new id on login: an id an attacker planted before login is worthless afterwards.
        await session.regenerateId();
        // Bound to the user, so that the sessions page lists it and "log out everywhere else" can end it.
        await session.setUser(user, {
          agent: (req.headers['user-agent'] ?? 'unknown').slice(0, AGENT_LIMIT),
        });
        await rotateCsrfToken(session);
        await setFlash(session, { kind: 'success', text: `Logged in as ${user}.` });
        await saveAndRecordCookie(session, new Date());
        redirect('/');
        return;
      }
      if (url.pathname === '/logout') {
        // A new, empty session: the flash and a fresh token live in it.
        await session.invalidate();
        await rotateCsrfToken(session);
        await setFlash(session, { kind: 'info', text: 'Logged out.' });
        await saveAndRecordCookie(session, new Date());
        redirect('/');
        return;
      }
      if (url.pathname === '/sessions/revoke' || url.pathname === '/sessions/revoke-others') {
        // Only ever the sessions of the user this session is logged in as: the form names a session, never a user.
        const user = session.user;
        if (!listable) {
          await setFlash(session, {
            kind: 'info',
            text: 'Cookie sessions cannot be listed or logged out from another browser.',
          });
        } else if (user === undefined) {
          send(
            403,
            messagePage({ pid, title: 'Not logged in', text: 'Log in to log out your other sessions.' }),
          );
          return;
        } else if (url.pathname === '/sessions/revoke-others') {
          const ended = await sessions.revokeAll(user, { except: session });
          await setFlash(session, { kind: 'success', text: `Logged out ${ended} other session(s).` });
        } else {
          const ref = form.get('ref') ?? '';
          if (ref === session.ref) {
            await setFlash(session, { kind: 'info', text: 'That is this browser: use Log out.' });
          } else if (await sessions.revoke(user, ref)) {
            await setFlash(session, {
              kind: 'success',
              text: `Logged out the session ${ref.slice(0, ID_PREFIX_LENGTH)}….`,
            });
          } else {
            await setFlash(session, {
              kind: 'info',
              text: 'No such session of yours: it may have ended already.',
            });
          }
        }
        await session.save();
        redirect('/sessions');
        return;
      }
      if (url.pathname === '/regions/invalidate') {
        const region = form.get('region') ?? '';
        if (!caches.regions.includes(region)) {
          send(
            400,
            messagePage({ pid, title: 'Unknown region', text: `There is no cache region “${region}”.` }),
          );
          return;
        }
        const reports = await channel.askAll({ invalidate: region });
        await setFlash(session, {
          kind: 'success',
          text: `Region ${region} invalidated in ${reports.length} worker(s).`,
        });
        await session.save();
        redirect('/#caches');
        return;
      }
      if (url.pathname === '/race/run') {
        await session.set('race', await runRace(form.get('reset') !== '0'));
        await session.save();
        redirect('/race');
        return;
      }
      send(404, messagePage({ pid, title: 'Not found', text: 'Nothing accepts a POST here.' }));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD, POST' }).end();
      return;
    }

    switch (url.pathname) {
      case '/':
        send(200, await home(session));
        return;
      case '/sessions':
        send(200, await userSessions(session));
        return;
      case '/slow': {
        const n = Math.min(1_000_000, Math.max(1, Number(url.searchParams.get('n')) || 200_000));
        const before = computations;
        const started = performance.now();
        const value = await slow(n);
        const ms = performance.now() - started;
        const stats = caches.getCacheRegion(SLOW_NAMESPACE, SLOW_REGION).stats();
        send(200, slowPage({ pid, n, value, hit: computations === before, ms, stats }));
        return;
      }
      case '/race': {
        const csrf = await csrfToken(session);
        const run = await session.get('race');
        await session.save();
        const lockDir = cacheConfig.cache_regions?.[RACE_REGION]?.lock_dir ?? cacheConfig.lock_dir;
        send(
          200,
          racePage({
            pid,
            csrf,
            requests: RACE_REQUESTS,
            createMs: RACE_CREATE_MS,
            region: RACE_REGION,
            lockDir: typeof lockDir === 'string' ? normalize(lockDir) : '(no lock_dir)',
            ...(run ? { run } : {}),
          }),
        );
        return;
      }
      case '/race/value': {
        // No session here: the race measures the cache, and 50 requests on one session would queue on its lock.
        let created = false;
        const started = performance.now();
        const value = await raceCache.get(RACE_KEY, {
          createfunc: async () => {
            created = true;
            await sleep(RACE_CREATE_MS);
            return { createdBy: pid, createdAt: new Date().toISOString() };
          },
        });
        json(200, { pid, created, value, ms: performance.now() - started });
        return;
      }
      case '/healthz':
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`ok ${pid}\n`);
        return;
      default:
        send(404, messagePage({ pid, title: 'Not found', text: 'No such page.' }));
    }
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  listeningPort = typeof address === 'object' && address ? address.port : options.port;

  let closing: Promise<void> | undefined;
  return {
    server,
    port: listeningPort,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
        });
        server.closeIdleConnections();
        const cut = setTimeout(() => {
          server.closeAllConnections();
        }, CLOSE_GRACE_MS);
        await closed;
        clearTimeout(cut);
        await Promise.all([sessions.close(), caches.close()]);
      })()),
  };
}
