/**
 * Each server killed and restarted under load. The test starts its own server of each kind on a spare port (never
 * the machine's shared ones), runs sessions and cached reads against it from several concurrent loops, kills it
 * with SIGKILL (PostgreSQL: an immediate shutdown, its crash), and starts it again. Checked:
 * - while it is down, cache reads fall back to the creator and report a `backend-error`; session saves fail with a
 *   typed SessionStoreError; nothing hangs;
 * - once it is back, service resumes by itself (no reconnect call);
 * - on the durable stores (Redis with appendfsync always, PostgreSQL, MariaDB) every session save that was
 *   acknowledged, before or after the crash, loads with its value. memcached and the Datastore emulator (in memory)
 *   keep nothing over a restart by design.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { CacheManager, type CacheEvent } from '../../src/index.js';
import { SessionManager, SessionStoreError } from '../../src/session/index.js';
import { OwnRedisCluster } from '../helpers/redis-cluster.js';
import { describeWhenAvailable, spawnDurableRedis } from '../helpers/services.js';

const isRoot = process.getuid?.() === 0;

/** A server this test owns: how to start it, crash it, and reach it. */
interface OwnServer {
  name: string;
  /** Why it cannot run here, if it cannot. */
  unavailable: string | undefined;
  /** Prepares the data directory (once). */
  init?(dir: string): void;
  start(dir: string): ChildProcess | undefined | Promise<undefined>;
  crash(dir: string, process: ChildProcess | undefined): void | Promise<void>;
  /** Runs after the first start (create the database). */
  ready?(dir: string): void;
  options: Record<string, unknown>;
  durable: boolean;
}

function installed(command: string, args: string[] = ['--version']): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

/** Runs a command as `user` when this process is root (PostgreSQL and MariaDB refuse to run as root). */
function runAs(user: string, command: string, args: string[]): void {
  const result = isRoot
    ? spawnSync('su', [user, '-s', '/bin/sh', '-c', [command, ...args].map((a) => `'${a}'`).join(' ')])
    : spawnSync(command, args);
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr.toString()}`);
}

function ownedBy(dir: string, user: string): string {
  if (isRoot) {
    const uid = Number(spawnSync('id', ['-u', user]).stdout.toString());
    const gid = Number(spawnSync('id', ['-g', user]).stdout.toString());
    chownSync(dir, uid, gid);
  }
  return dir;
}

const DATASTORE_EMULATOR =
  '/usr/lib/google-cloud-sdk/platform/cloud-datastore-emulator/cloud_datastore_emulator';

const PG_BIN = spawnSync('sh', ['-c', 'ls -d /usr/lib/postgresql/*/bin | tail -n1']).stdout.toString().trim();

const SERVERS: OwnServer[] = [
  redisServer(6391, 'redis'),
  redisServer(6394, 'ioredis'),
  memcachedServer(11291, 'memjs'),
  memcachedServer(11294, 'memcached'),
  redisClusterServer(),
  {
    name: 'PostgreSQL',
    unavailable:
      PG_BIN !== '' && installed(join(PG_BIN, 'pg_ctl')) ? undefined : 'PostgreSQL is not installed',
    init: (dir) => {
      runAs('postgres', join(PG_BIN, 'initdb'), [
        '-D',
        join(ownedBy(dir, 'postgres'), 'data'),
        '-U',
        'postgres',
      ]);
    },
    start: (dir) => {
      runAs('postgres', join(PG_BIN, 'pg_ctl'), [
        '-D',
        join(dir, 'data'),
        '-l',
        join(dir, 'log'),
        '-w',
        '-o',
        `-p 5439 -k ${dir} -c listen_addresses=127.0.0.1`,
        'start',
      ]);
      return undefined;
    },
    // An immediate shutdown is PostgreSQL's crash: no checkpoint, recovery from the WAL at the next start.
    crash: (dir) => {
      runAs('postgres', join(PG_BIN, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']);
    },
    options: { type: 'ext:database', url: 'postgresql://postgres@127.0.0.1:5439/postgres' },
    durable: true,
  },
  {
    name: 'MariaDB',
    unavailable: installed('mariadbd', ['--version']) ? undefined : 'MariaDB is not installed',
    init: (dir) => {
      const result = spawnSync('mariadb-install-db', [
        '--no-defaults',
        ...(isRoot ? ['--user=mysql'] : []),
        `--datadir=${join(ownedBy(dir, 'mysql'), 'data')}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
      ]);
      if (result.status !== 0) throw new Error(`mariadb-install-db failed: ${result.stderr.toString()}`);
    },
    start: (dir) =>
      spawn(
        'mariadbd',
        [
          '--no-defaults',
          ...(isRoot ? ['--user=mysql'] : []),
          `--datadir=${join(dir, 'data')}`,
          '--bind-address=127.0.0.1',
          '--port=3316',
          `--socket=${join(dir, 'sock')}`,
          `--pid-file=${join(dir, 'pid')}`,
        ],
        { stdio: 'ignore' },
      ),
    ready: () => {
      const result = spawnSync('mariadb', [
        '--no-defaults',
        '-h127.0.0.1',
        '-P3316',
        '-uroot',
        '-e',
        'CREATE DATABASE IF NOT EXISTS test',
      ]);
      if (result.status !== 0) throw new Error(`creating the database failed: ${result.stderr.toString()}`);
    },
    crash: (_dir, server) => void server?.kill('SIGKILL'),
    options: { type: 'ext:database', url: 'mysql://root@127.0.0.1:3316/test' },
    durable: true,
  },
  {
    name: 'Datastore emulator',
    unavailable: existsSync(DATASTORE_EMULATOR)
      ? undefined
      : `the Google Cloud CLI's Datastore emulator is not installed (${DATASTORE_EMULATOR})`,
    init: (dir) => {
      const result = spawnSync(DATASTORE_EMULATOR, ['create', join(dir, 'project')]);
      if (result.status !== 0) throw new Error(`creating the project failed: ${result.stderr.toString()}`);
    },
    // Its own process group: the script starts a JVM, and the crash must take both.
    start: (dir) =>
      spawn(
        DATASTORE_EMULATOR,
        [
          'start',
          '--host=127.0.0.1',
          '--port=8091',
          '--store_on_disk=false',
          '--consistency=1.0',
          join(dir, 'project'),
        ],
        { stdio: 'ignore', detached: true },
      ),
    crash: (_dir, server) => {
      if (server?.pid !== undefined && server.exitCode === null) process.kill(-server.pid, 'SIGKILL');
    },
    options: { type: 'ext:google', url: 'http://127.0.0.1:8091', project_id: 'beaker-ts-outage' },
    // The emulator keeps its data in memory.
    durable: false,
  },
];

/** A Redis (every write on disk before it answers) killed and restarted, reached through one client library. */
function redisServer(port: number, redisModule: 'redis' | 'ioredis'): OwnServer {
  return {
    name: redisModule === 'redis' ? 'Redis' : `Redis (redis_module = ${redisModule})`,
    unavailable: installed('redis-server') ? undefined : 'redis-server is not installed',
    start: (dir) => spawnDurableRedis(port, dir),
    crash: (_dir, server) => void server?.kill('SIGKILL'),
    options: { type: 'ext:redis', url: `redis://127.0.0.1:${String(port)}/0`, redis_module: redisModule },
    durable: true,
  };
}

/** A memcached killed and restarted, reached through one client library (it keeps nothing over a restart). */
function memcachedServer(port: number, memcacheModule: 'memjs' | 'memcached'): OwnServer {
  return {
    name: memcacheModule === 'memjs' ? 'memcached' : `memcached (memcache_module = ${memcacheModule})`,
    unavailable: installed('memcached', ['-h']) ? undefined : 'memcached is not installed',
    start: () =>
      spawn(
        'memcached',
        ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '64', ...(isRoot ? ['-u', 'root'] : [])],
        { stdio: 'ignore' },
      ),
    crash: (_dir, server) => void server?.kill('SIGKILL'),
    options: { type: 'ext:memcached', url: `127.0.0.1:${String(port)}`, memcache_module: memcacheModule },
    durable: false,
  };
}

/** The whole Redis Cluster (six nodes) killed and started again: every node comes back from its append-only file. */
function redisClusterServer(): OwnServer {
  const firstPort = 7121;
  let cluster: OwnRedisCluster | undefined;
  return {
    name: 'Redis Cluster',
    unavailable: installed('redis-server') ? undefined : 'redis-server is not installed',
    async start(dir) {
      cluster ??= new OwnRedisCluster(dir, firstPort, 5000, 'always');
      await cluster.start();
      await cluster.healthy();
      return undefined;
    },
    crash: () => cluster?.killAll(),
    options: { type: 'ext:rediscluster', urls: OwnRedisCluster.urlsFrom(firstPort) },
    durable: true,
  };
}

/** Resolves once `check` holds; else fails after `ms`, naming what it waited for. */
async function waitUntil(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`not within ${String(ms)} ms: ${what}`);
}

/** Concurrent loops of session saves and cached reads, recording what was acknowledged and what failed. */
class Load {
  /** Each saved session's value, and when its save was acknowledged. */
  readonly acknowledged = new Map<string, { n: number; at: number }>();
  saveFailures = 0;
  lastFailureAt = 0;
  /** The longest a save (acknowledged or failed) held its caller. */
  slowestSaveMs = 0;
  otherErrors: unknown[] = [];
  #running = true;
  readonly #loops: Promise<void>[];

  constructor(sessions: SessionManager, cache: ReturnType<CacheManager['getCache']>, loops = 8) {
    let counter = 0;
    this.#loops = Array.from({ length: loops }, async () => {
      while (this.#running) {
        const n = (counter += 1);
        const session = sessions.session<{ n: number }>(undefined);
        const started = Date.now();
        try {
          await session.set('n', n);
          await session.save();
          this.acknowledged.set(session.id, { n, at: Date.now() });
        } catch (error) {
          if (error instanceof SessionStoreError) this.saveFailures += 1;
          else this.otherErrors.push(error);
          this.lastFailureAt = Date.now();
        }
        this.slowestSaveMs = Math.max(this.slowestSaveMs, Date.now() - started);
        // A cached read never fails: it falls back to the creator while the store is down.
        await cache
          .get(`key-${String(n % 20)}`, { createfunc: () => `value ${String(n)}` })
          .catch((error: unknown) => {
            this.otherErrors.push(error);
          });
        await sleep(5);
      }
    });
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }
}

/** The acknowledged sessions that do not load with their value. */
async function lostSessions(sessions: SessionManager, acknowledged: Load['acknowledged']): Promise<string[]> {
  const lost: string[] = [];
  for (const [id, { n }] of acknowledged) {
    const loaded = await sessions.getById<{ n: number }>(id);
    if ((await loaded?.get('n')) !== n) lost.push(id);
  }
  return lost;
}

describe('server outages under load', () => {
  for (const server of SERVERS) {
    describeWhenAvailable(`${server.name} killed and restarted under load`, server.unavailable, () => {
      const dir = mkdtempSync(join(tmpdir(), `beaker-outage-${server.name.toLowerCase()}-`));
      let running: ChildProcess | undefined;
      afterAll(async () => {
        const exited =
          running && running.exitCode === null ? once(running, 'exit').catch(() => undefined) : undefined;
        await server.crash(dir, running);
        await exited;
        // The database servers' data directories are large: do not leave them behind.
        rmSync(dir, { recursive: true, force: true });
      });

      it('fails fast and typed while down, resumes by itself, and loses nothing acknowledged', async () => {
        server.init?.(dir);
        running = await server.start(dir);
        const events: CacheEvent[] = [];
        const cache = new CacheManager({ ...server.options, onEvent: (event) => events.push(event) });
        const sessions = new SessionManager({
          ...server.options,
          secret: 'outage-test-secret-of-32-bytes-or-more!!',
        });
        await waitUntil('a first session saved', async () => {
          server.ready?.(dir);
          const probe = sessions.session(undefined);
          await probe.set('probe', true);
          await probe.save();
          return true;
        });
        const load = new Load(sessions, cache.getCache('outage'));
        // Service under load first (the emulator is slower than the others: a count, not a fixed time).
        await waitUntil('20 saves acknowledged before the crash', () =>
          Promise.resolve(load.acknowledged.size > 20),
        );

        await server.crash(dir, running);
        await sleep(1500);
        const failuresWhileDown = load.saveFailures;
        const fallbacks = events.filter((event) => event.type === 'backend-error').length;
        // While it is down, a read and a session load fail fast: a caller is not held for a timeout.
        const readStarted = Date.now();
        expect(await cache.getCache('outage').get('while-down', { createfunc: () => 'created' })).toBe(
          'created',
        );
        await expect(sessions.getById('0'.repeat(32))).rejects.toThrow(SessionStoreError);
        const readMs = Date.now() - readStarted;

        running = await server.start(dir);
        const acknowledgedAtRestart = load.acknowledged.size;
        await waitUntil('20 saves acknowledged after the restart', () =>
          Promise.resolve(load.acknowledged.size > acknowledgedAtRestart + 20),
        );
        await load.stop();

        expect(failuresWhileDown).toBeGreaterThan(0);
        expect(readMs).toBeLessThan(2000);
        expect(fallbacks).toBeGreaterThan(0);
        expect(load.otherErrors).toEqual([]);
        if (server.durable) expect(await lostSessions(sessions, load.acknowledged)).toEqual([]);
        await cache.close();
        await sessions.close();
      }, 90_000);
    });
  }
});

describeWhenAvailable(
  'Redis Cluster: a master killed for good, under load',
  installed('redis-server') ? undefined : 'redis-server is not installed',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'beaker-failover-'));
    // A short node timeout: the replica is promoted about 2 s after its master stops answering. What a failover
    // keeps is what the replica had in memory, so no node syncs its file on every write.
    const cluster = new OwnRedisCluster(dir, 7111, 1000, 'everysec');
    afterAll(async () => {
      await cluster.killAll();
      rmSync(dir, { recursive: true, force: true });
    });

    it('keeps serving the other masters, resumes on the promoted replica by itself, and loses only the last writes', async () => {
      await cluster.start();
      await cluster.healthy();
      const options = { type: 'ext:rediscluster', urls: OwnRedisCluster.urlsFrom(7111) };
      const cache = new CacheManager(options);
      const sessions = new SessionManager({ ...options, secret: 'outage-test-secret-of-32-bytes-or-more!!' });
      const load = new Load(sessions, cache.getCache('failover'));
      await waitUntil('50 saves acknowledged before the kill', () =>
        Promise.resolve(load.acknowledged.size > 50),
      );

      const [victim, ...survivors] = cluster.masters(cluster.ports[0] ?? 0);
      if (victim === undefined) throw new Error('the cluster has no master');
      const killedAt = Date.now();
      const failuresBefore = load.saveFailures;
      await cluster.kill(victim);
      // Until the dead master is marked failed (the node timeout, 1 s), the other masters' slots are served at once:
      // of 30 new sessions, about two thirds land there (a session's lock lives on its record's master). A session on
      // the dead master's slots waits for the failover (1.4 s at the soonest) or fails: under 1 s means served at
      // once, even on a loaded machine.
      const probeMs = await Promise.all(
        Array.from({ length: 30 }, async () => {
          const session = sessions.session<{ n: number }>(undefined);
          await session.set('n', 0);
          const started = Date.now();
          return session.save().then(
            () => Date.now() - started,
            () => Infinity,
          );
        }),
      );
      const savedAtOnce = probeMs.filter((ms) => ms < 1000).length;
      // A replica takes the dead master's slots over (the surviving nodes agree on 3 masters again).
      const watcher = survivors[0] ?? 0;
      await waitUntil('a replica promoted in place of the killed master', () =>
        Promise.resolve(
          cluster.isHealthy(watcher) &&
            cluster.masters(watcher).length === 3 &&
            !cluster.masters(watcher).includes(victim),
        ),
      );
      const failedOverAt = Date.now();
      // Service resumes by itself: a full second without a failed save after the failover.
      await waitUntil('a second without a failed save after the failover', () =>
        Promise.resolve(Date.now() - Math.max(load.lastFailureAt, failedOverAt) > 1000),
      );
      await load.stop();
      // Replication is asynchronous: a write acknowledged just before the crash may not have reached the replica
      // (Redis documents this). Everything acknowledged a second before the crash, or after the failover, is kept.
      const lost = await lostSessions(sessions, load.acknowledged);
      const lostOutsideTheCrash = lost.filter((id) => {
        const at = load.acknowledged.get(id)?.at ?? 0;
        return at < killedAt - 1000 || at > failedOverAt;
      });
      console.info(
        `Redis Cluster failover: replica promoted ${String(failedOverAt - killedAt)} ms after the kill, ` +
          `last failed save ${load.lastFailureAt > killedAt ? `${String(load.lastFailureAt - killedAt)} ms after it` : 'none'}, ` +
          `slowest save ${String(load.slowestSaveMs)} ms; ${String(savedAtOnce)} of 30 new sessions saved within 1 s ` +
          `of the kill; ${String(load.acknowledged.size)} saves acknowledged, ` +
          `${String(load.saveFailures - failuresBefore)} failed, ${String(lost.length)} lost`,
      );
      expect(load.otherErrors).toEqual([]);
      // The kill was felt: sessions on the dead master's slots waited for the failover (or failed, when it took
      // longer than the client retries). All 30 on the two live masters: a chance of (2/3)^30, about 1 in 190,000.
      expect(savedAtOnce).toBeLessThan(30);
      expect(savedAtOnce).toBeGreaterThan(10);
      // ioredis retries a command on a dead or failing-over slot for up to about 1.7 s (16 tries), then fails it; a
      // save makes up to three such calls (lock, write, release), most of a second apart at worst.
      expect(load.slowestSaveMs).toBeLessThan(4000);
      expect(lostOutsideTheCrash).toEqual([]);
      await cache.close();
      await sessions.close();
    }, 90_000);
  },
);
