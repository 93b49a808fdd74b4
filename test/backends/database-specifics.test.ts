/**
 * ext:database and ext:sqla beyond the conformance suite: SQLAlchemy URLs, options, a table with Beaker's old
 * layout, and the application's own pools (pg, mysql2 callback and promise APIs, a hand-written SqlClient).
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import mysql from 'mysql2';
import mysqlPromise from 'mysql2/promise';
import { BackendError, ConfigError } from '../../src/index.js';
import type { AnyBackend, BackendEvent } from '../../src/backends/index.js';
import { databaseBackend, sqlaBackend, type SqlClient } from '../../src/backends/database/index.js';
import { openSqlClient, parseDatabaseUrl } from '../../src/backends/database/sql-client.js';
import { getEntries } from '../../src/backends/contract.js';
import { MysqlNamedLocks } from '../../src/backends/database/mysql-named-locks.js';
import { FileNotifier } from '../../src/locks/file-notifier.js';
import { describeWhenAvailable } from '../helpers/services.js';
import { expectWokenOnRelease, FREE_LOCK_TAKES, WAKE_ROUNDS, WatchedTimers } from '../helpers/locks.js';
import { MARIADB_URL, POSTGRES_URL, serverStores } from '../helpers/server-stores.js';

const events: BackendEvent[] = [];
const context = { clock: Date.now, report: (event: BackendEvent) => events.push(event) };
const stores = await serverStores();
const unavailable = (label: string): string | undefined =>
  stores.find((store) => store.label === label)?.unavailable;

describe('SQLAlchemy URLs', () => {
  it.each([
    [
      'postgresql://u:p@db:5433/app',
      { dialect: 'postgres', connectionString: 'postgresql://u:p@db:5433/app' },
    ],
    ['postgresql+psycopg2://u@db/app', { dialect: 'postgres', connectionString: 'postgresql://u@db/app' }],
    ['postgres://db/app', { dialect: 'postgres', connectionString: 'postgresql://db/app' }],
    [
      'mysql+pymysql://root@db/app?charset=utf8mb4',
      { dialect: 'mysql', uri: 'mysql://root@db/app?charset=utf8mb4' },
    ],
    ['mariadb://root@db/app', { dialect: 'mysql', uri: 'mysql://root@db/app' }],
    ['sqlite:///cache.db', { dialect: 'sqlite', file: 'cache.db' }],
    ['sqlite:////var/lib/app/cache.db', { dialect: 'sqlite', file: '/var/lib/app/cache.db' }],
    ['sqlite://', { dialect: 'sqlite', file: ':memory:' }],
  ])('reads %s', (url, target) => {
    expect(parseDatabaseUrl(url)).toEqual(target);
  });

  it('refuses what is not a database URL, naming the option', async () => {
    expect(() => parseDatabaseUrl('oracle://db/app')).toThrow(ConfigError);
    expect(() => parseDatabaseUrl('oracle://db/app')).toThrow(/option "url"/);
    await expect(databaseBackend({}, context)).rejects.toThrow(ConfigError);
    await expect(databaseBackend({}, context)).rejects.toThrow(/needs url \(or sa.url\)/);
  });

  it('refuses table and schema names that are not plain SQL identifiers', async () => {
    await expect(
      databaseBackend({ url: 'sqlite://', table_name: 'x; DROP TABLE y' }, context),
    ).rejects.toThrow(/table_name must be a SQL identifier/);
    await expect(databaseBackend({ url: 'sqlite://', schema_name: 'a.b' }, context)).rejects.toThrow(
      ConfigError,
    );
  });

  it('takes sa.url from sa_opts, reports the sa.* options it ignores and checks the numbers', async () => {
    events.length = 0;
    const backend = await databaseBackend({ sa_opts: { 'sa.url': 'sqlite://', 'sa.echo': 'true' } }, context);
    await backend.set('ns', 'k', 'v');
    expect(await backend.get('ns', 'k')).toBe('v');
    expect(backend.capabilities.sharedAcrossProcesses).toBe(false);
    await backend.close();
    expect(events.map((event) => event.message)).toEqual([
      'sa.echo is a SQLAlchemy option beaker-ts does not use; it is ignored',
    ]);
    await expect(
      databaseBackend({ url: 'sqlite://', sa_opts: { 'sa.pool_size': 'ten' } }, context),
    ).rejects.toThrow(/sa.pool_size must be a number/);
  });
});

describeWhenAvailable(
  'ext:database and ext:sqla on PostgreSQL',
  unavailable('ext:database on PostgreSQL'),
  () => {
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 3 });
    afterAll(async () => {
      await pool.query('DROP TABLE IF EXISTS beaker_old_layout');
      await pool.end();
    });

    it('refuses a table with Beaker’s one-row-per-namespace layout, saying what to do', async () => {
      await pool.query(`CREATE TABLE IF NOT EXISTS beaker_old_layout (id SERIAL PRIMARY KEY,
      namespace VARCHAR(255) NOT NULL UNIQUE, accessed TIMESTAMP NOT NULL, created TIMESTAMP NOT NULL,
      data BYTEA NOT NULL)`);
      const attempt = databaseBackend({ url: POSTGRES_URL, table_name: 'beaker_old_layout' }, context);
      await expect(attempt).rejects.toThrow(BackendError);
      await expect(attempt).rejects.toThrow(/or exists with another layout .*set table_name to a new table/);
    });

    it('works on the application’s pg Pool and leaves it open', async () => {
      const backend = await sqlaBackend({ bind: pool, table: 'beaker_sqla' }, context);
      await backend.set('ns', 'k', 'from sqla');
      expect(await backend.get('ns', 'k')).toBe('from sqla');
      await backend.close();
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });

    it('works on a hand-written SqlClient and keeps its notifications for lock waiters', async () => {
      // Notifications go through an in-process emitter, so only the client's own listen/notify can wake the waiter.
      const bus = new EventEmitter();
      const notified: string[] = [];
      const client: SqlClient = {
        dialect: 'postgres',
        async query(sql, params = []) {
          let index = 0;
          const result = await pool.query(
            sql.replace(/\?/g, () => `$${String((index += 1))}`),
            [...params],
          );
          return { rows: result.rows as Record<string, unknown>[], affected: result.rowCount ?? 0 };
        },
        close: () => Promise.reject(new Error('beaker-ts must not close a client it was given')),
        listen: (channel, onMessage) => {
          bus.on(channel, onMessage);
          return Promise.resolve();
        },
        notify: (channel, payload) => {
          notified.push(channel);
          bus.emit(channel, payload);
          return Promise.resolve();
        },
      };
      const timers = new WatchedTimers();
      const [owner, waiter] = await Promise.all([
        sqlaBackend({ bind: client, table_name: 'beaker_sqla' }, context),
        sqlaBackend({ bind: client, table_name: 'beaker_sqla' }, { ...context, timers }),
      ]);
      await owner.set('ns', 'own client', 'yes');
      expect(await waiter.keys('ns')).toContain('own client');
      if (!owner.locks || !waiter.locks) throw new Error('ext:sqla has creation locks');
      const name = `own-client-${String(Date.now())}`;
      await expectWokenOnRelease(owner.locks, waiter.locks, name, timers.nextLongWait);
      // The free-lock timing releases once a take; each round twice: the owner's lock, then the waiter's.
      expect(notified).toEqual(
        Array.from({ length: FREE_LOCK_TAKES + 2 * WAKE_ROUNDS }, () => 'beaker_lock_released'),
      );
      await Promise.all([owner.close(), waiter.close()]);
    });

    it('refuses a bind it does not know', async () => {
      await expect(sqlaBackend({ bind: { query: 1 } }, context)).rejects.toThrow(/bind must be a pg Pool/);
    });
  },
);

describeWhenAvailable('ext:sqla on MariaDB', unavailable('ext:database on MariaDB'), () => {
  it.each([
    ['callback', () => mysql.createPool({ uri: MARIADB_URL, connectionLimit: 2 })],
    ['promise', () => mysqlPromise.createPool({ uri: MARIADB_URL, connectionLimit: 2 })],
  ])('works on a mysql2 pool (%s API) and leaves it open', async (_api, create) => {
    const pool = create();
    const backend = await sqlaBackend({ bind: pool, table: 'beaker_sqla' }, context);
    await backend.set('ns', 'k', `via ${_api}`);
    expect(await backend.get('ns', 'k')).toBe(`via ${_api}`);
    await backend.close();
    const promised = 'promise' in pool && typeof pool.promise === 'function' ? pool.promise() : pool;
    const [rows] = await (promised as mysqlPromise.Pool).query('SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
    await (promised as mysqlPromise.Pool).end();
  });
});

/** Checks that `waiter`, on `timers`, is woken when `owner` releases a lock ({@link expectWokenOnRelease}); closes both. */
async function expectWakeUps(owner: AnyBackend, waiter: AnyBackend, timers: WatchedTimers): Promise<void> {
  if (!owner.locks || !waiter.locks) throw new Error(`${owner.type} has creation locks`);
  await expectWokenOnRelease(owner.locks, waiter.locks, `wake-${String(Date.now())}`, timers.nextLongWait);
  await Promise.all([owner.close(), waiter.close()]);
}

const sqliteDir = mkdtempSync(join(tmpdir(), 'beaker-sqlite-wake-'));
afterAll(() => {
  rmSync(sqliteDir, { recursive: true, force: true });
});

for (const { label, url, mechanism, missing } of [
  {
    label: 'ext:database on PostgreSQL',
    url: POSTGRES_URL,
    mechanism: 'LISTEN/NOTIFY',
    missing: unavailable('ext:database on PostgreSQL'),
  },
  // SQLite is embedded: always there.
  {
    label: 'ext:database on SQLite',
    url: `sqlite:///${join(sqliteDir, 'wake.db')}`,
    mechanism: 'its notification file',
    missing: undefined,
  },
]) {
  describeWhenAvailable(`lock wake-ups on ${label}`, missing, () => {
    it(`wakes a lock waiter through ${mechanism} when the lock is released`, async () => {
      const timers = new WatchedTimers();
      const [owner, waiter] = await Promise.all([
        databaseBackend({ url, table_name: 'beaker_ts_conformance' }, context),
        databaseBackend({ url, table_name: 'beaker_ts_conformance' }, { ...context, timers }),
      ]);
      await expectWakeUps(owner, waiter, timers);
    });
  });
}

/**
 * ext:sqla on MariaDB pools of its own, counting its statements; `onNamedLockQuery` sees each statement its named
 * locks send.
 */
function mariadbSide(onNamedLockQuery: (sql: string, params: unknown[]) => void = () => undefined): {
  pool: mysqlPromise.Pool;
  locksPool: mysqlPromise.Pool;
  client: SqlClient;
  statements: () => number;
} {
  const pool = mysqlPromise.createPool({ uri: MARIADB_URL, connectionLimit: 4 });
  const locksPool = mysqlPromise.createPool({ uri: MARIADB_URL, connectionLimit: 4 });
  let statements = 0;
  const client: SqlClient = {
    dialect: 'mysql',
    async query(sql, params = []) {
      statements += 1;
      const [result] = await pool.query(sql, [...params]);
      if (Array.isArray(result)) return { rows: result as Record<string, unknown>[], affected: 0 };
      return { rows: [], affected: (result as { affectedRows: number }).affectedRows };
    },
    close: () => Promise.resolve(),
    namedLocks: new MysqlNamedLocks(watchedPool(locksPool, onNamedLockQuery), '/test'),
  };
  return { pool, locksPool, client, statements: () => statements };
}

/** `pool`, whose connections tell `onQuery` each statement before they send it. */
function watchedPool(
  pool: mysqlPromise.Pool,
  onQuery: (sql: string, params: unknown[]) => void,
): mysqlPromise.Pool {
  const watched = Object.create(pool) as mysqlPromise.Pool;
  watched.getConnection = async () => {
    const connection = await pool.getConnection();
    const query = connection.query.bind(connection);
    return Object.assign(Object.create(connection) as mysqlPromise.PoolConnection, {
      query: (sql: string, params: unknown[]) => {
        onQuery(sql, params);
        return query(sql, params);
      },
    });
  };
  return watched;
}

describeWhenAvailable(
  'lock wake-ups on ext:database on MariaDB',
  unavailable('ext:database on MariaDB'),
  () => {
    it('wakes a lock waiter through GET_LOCK when the lock is released', async () => {
      // The waiter's waits run in the server, in GET_LOCK with a timeout in seconds: its named locks report them.
      const timers = new WatchedTimers();
      const [ownerSide, waiterSide] = [
        mariadbSide(),
        mariadbSide((sql, params) => {
          if (sql.startsWith('SELECT GET_LOCK(?, ?)')) timers.waitBegan(Number(params[1]) * 1000);
        }),
      ];
      const [owner, waiter] = await Promise.all([
        sqlaBackend({ bind: ownerSide.client, table_name: 'beaker_ts_conformance' }, context),
        sqlaBackend({ bind: waiterSide.client, table_name: 'beaker_ts_conformance' }, { ...context, timers }),
      ]);
      await expectWakeUps(owner, waiter, timers);
      await Promise.all([ownerSide, waiterSide].flatMap((side) => [side.pool.end(), side.locksPool.end()]));
    });
  },
);

describeWhenAvailable('named locks on MariaDB', unavailable('ext:database on MariaDB'), () => {
  it('polls at its capped pace, not in a tight loop, when the holder lost its named lock but not its lease', async () => {
    // Each back-end on its own pool and named locks, through ext:sqla, so that the waiter's statements are counted.
    const [holderSide, waiterSide] = [mariadbSide(), mariadbSide()];
    const holder = await sqlaBackend(
      { bind: holderSide.client, table_name: 'beaker_ts_conformance' },
      context,
    );
    const waiter = await sqlaBackend(
      { bind: waiterSide.client, table_name: 'beaker_ts_conformance' },
      context,
    );
    if (!holder.locks || !waiter.locks) throw new Error('ext:sqla has creation locks');
    const name = `lost-named-lock-${String(Date.now())}`;
    const lock = await holder.locks.acquire(name, 0);
    expect(lock).toBeDefined();
    // The holder's named-lock connections drop (as when its process dies), while its lease row stays.
    await holderSide.locksPool.end();
    const before = waiterSide.statements();
    const started = Date.now();
    expect(await waiter.locks.acquire(name, 1500)).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    // A poll capped at 200 ms makes about a dozen attempts of two statements in 1.5 s; a tight loop, hundreds.
    expect(waiterSide.statements() - before).toBeLessThan(60);
    await lock?.release();
    await Promise.all([holder.close(), waiter.close()]);
    await Promise.all([holderSide.pool.end(), waiterSide.pool.end(), waiterSide.locksPool.end()]);
  });
});

describe("SQLite's notification file", () => {
  it('stays small and keeps delivering after it starts again', async () => {
    const path = join(sqliteDir, 'restarting-notify');
    const [listener, sender] = [new FileNotifier(path), new FileNotifier(path)];
    const received: string[] = [];
    await listener.listen('channel', (payload) => received.push(payload));
    // About 100 KB of notifications: the file starts again once past 64 KB.
    for (let index = 0; index < 100; index += 1)
      await sender.notify('channel', `${String(index)}:${'x'.repeat(1000)}`);
    await sender.notify('channel', 'last');
    await vi.waitFor(() => {
      expect(received).toContain('last');
    });
    expect(statSync(path).size).toBeLessThan(70 * 1024);
    listener.close();
    sender.close();
  });

  it('delivers every one of many concurrent notifications whole, each written when its promise resolves', async () => {
    const path = join(sqliteDir, 'concurrent-notify');
    const [listener, sender] = [new FileNotifier(path), new FileNotifier(path)];
    const received = new Set<string>();
    await listener.listen('channel', (payload) => received.add(payload));
    const payloads = Array.from({ length: 500 }, (_, index) => `${String(index)}:${'y'.repeat(index % 50)}`);
    // Sent in the same tick: they share writes. Each resolves once its own line is in the file.
    await Promise.all(
      payloads.map(async (payload) => {
        await sender.notify('channel', payload);
        expect(readFileSync(path, 'utf8')).toContain(JSON.stringify(['channel', payload]));
      }),
    );
    await vi.waitFor(() => {
      expect(received.size).toBe(payloads.length);
    });
    expect([...received].sort()).toEqual([...payloads].sort());
    listener.close();
    sender.close();
  });

  it('writes to a new file once its file was removed', async () => {
    const path = join(sqliteDir, 'removed-notify');
    const sender = new FileNotifier(path);
    await sender.notify('channel', 'before');
    rmSync(path);
    // The sender checks its file after a few kilobytes, and opens it again.
    for (let index = 0; index < 10; index += 1) await sender.notify('channel', 'z'.repeat(1000));
    expect(existsSync(path)).toBe(true);
    const listener = new FileNotifier(path);
    const received: string[] = [];
    await listener.listen('channel', (payload) => received.push(payload));
    await sender.notify('channel', 'after');
    await vi.waitFor(() => {
      expect(received).toEqual(['after']);
    });
    listener.close();
    sender.close();
  });
});

for (const { label, url, missing } of [
  { label: 'PostgreSQL', url: POSTGRES_URL, missing: unavailable('ext:database on PostgreSQL') },
  { label: 'MariaDB', url: MARIADB_URL, missing: unavailable('ext:database on MariaDB') },
  { label: 'SQLite', url: `sqlite:///${join(sqliteDir, 'getmany.db')}`, missing: undefined },
]) {
  describeWhenAvailable(`ext:database getMany on ${label}`, missing, () => {
    it('reads 600 keys in 2 statements (512 key hashes, then 88 padded to 128), where gets take 600', async () => {
      // The statements counted on the way to the database: the pool behind a SqlClient of the test's own.
      const pool = await openSqlClient(parseDatabaseUrl(url), {
        size: 4,
        acquireTimeoutMs: 5000,
        recycleSeconds: 0,
        statementTimeoutMs: 10_000,
      });
      const sent: number[] = [];
      const client: SqlClient = {
        dialect: pool.dialect,
        query: (sql, params = []) => {
          sent.push(params.length);
          return pool.query(sql, params);
        },
        close: () => Promise.resolve(),
      };
      const backend = await sqlaBackend({ bind: client, table: 'beaker_ts_getmany' }, context);
      const namespace = `getmany-${String(process.pid)}-${String(Date.now())}`;
      const keys = Array.from({ length: 600 }, (_, index) => `key ${String(index)}`);
      for (const key of keys.filter((_, index) => index % 3 === 0))
        await backend.set(namespace, key, `value of ${key}`);
      sent.length = 0;
      const batch = await getEntries(backend, namespace, keys);
      const statements = sent.splice(0);
      const perKey = await Promise.all(keys.map((key) => backend.get(namespace, key)));
      expect(batch).toEqual(perKey);
      expect(batch).toEqual(keys.map((key, index) => (index % 3 === 0 ? `value of ${key}` : undefined)));
      // The namespace hash and the instant, then the key hashes.
      expect(statements.sort((a, b) => a - b)).toEqual([2 + 128, 2 + 512]);
      expect(sent).toHaveLength(600);
      await backend.close();
      await pool.close();
    });
  });
}
