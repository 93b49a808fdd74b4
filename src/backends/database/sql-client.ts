/**
 * One small interface over the SQL drivers the database back-end uses: pg (PostgreSQL), mysql2 (MySQL, MariaDB)
 * and libsql (SQLite, in a worker thread). Each is an optional peer dependency, loaded on first use.
 * @module
 */
import { BackendError, ConfigError } from '../../shared/errors.js';
import { loadClient } from '../kit/load-client.js';
import { MYSQL2, PG } from './descriptor.js';

const USED_BY = 'The ext:database back-end';
import { sha256Hex } from '../kit/digest.js';
import { MysqlNamedLocks } from './mysql-named-locks.js';

/** The SQL dialects the database back-end writes. */
export type SqlDialect = 'postgres' | 'mysql' | 'sqlite';

/** The result of one statement. */
export interface SqlResult {
  rows: Record<string, unknown>[];
  /** Rows inserted, updated or deleted. */
  affected: number;
}

/**
 * A connection pool (or a connection) that runs one statement at a time with `?` placeholders. Pass your own as
 * `bind` of `ext:sqla` to use a driver beaker-ts does not know.
 */
export interface SqlClient {
  readonly dialect: SqlDialect;
  query(sql: string, params?: readonly unknown[]): Promise<SqlResult>;
  /** Closes the pool; never called for a client the application passed in. */
  close(): Promise<void>;
  /**
   * Calls `onMessage` with the payload of each notification on `channel` (PostgreSQL's LISTEN), on a connection
   * of its own; resolves once listening. Absent where the database cannot notify.
   */
  listen?(channel: string, onMessage: (payload: string) => void): Promise<void>;
  /** Sends a notification on `channel` (PostgreSQL's NOTIFY), when {@link listen} is there. */
  notify?(channel: string, payload: string): Promise<void>;
  /** Named locks that wake lock waiters where there is no {@link listen} (MySQL's and MariaDB's GET_LOCK). */
  namedLocks?: NamedLocks;
}

/**
 * Locks a creation-lock holder keeps while it creates, which waiters block on: a release wakes them at once.
 */
export interface NamedLocks {
  /** Holds `key`'s named lock; resolves to its release, or undefined when it cannot be held now. */
  hold(key: string): Promise<(() => Promise<void>) | undefined>;
  /** Waits until `key`'s named lock is released or `ms` pass: true; false at once when nobody holds it. */
  awaitRelease(key: string, ms: number): Promise<boolean>;
}

/** Pool settings read from Beaker's `sa_opts` (`sa.pool_size`, `sa.pool_timeout`, `sa.pool_recycle`). */
export interface PoolSettings {
  /** Most connections in the pool. */
  size: number;
  /** Longest wait for a connection, in milliseconds. */
  acquireTimeoutMs: number;
  /** Connections older than this are replaced, in seconds (0: never). */
  recycleSeconds: number;
  /** Longest a statement may run, in milliseconds. */
  statementTimeoutMs: number;
}

/** Where a SQLAlchemy-style URL points. */
export type DatabaseTarget =
  | { dialect: 'postgres'; connectionString: string }
  | { dialect: 'mysql'; uri: string }
  | { dialect: 'sqlite'; file: string };

/**
 * Reads a SQLAlchemy URL: `postgresql://`, `postgres://`, `mysql://`, `mariadb://` (a `+driver` suffix is
 * ignored), `sqlite:///relative.db`, `sqlite:////absolute.db` and `sqlite://` (in memory).
 */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  const match = /^([a-z0-9]+)(?:\+[a-z0-9_]+)?:\/\/(.*)$/i.exec(url.trim());
  const scheme = match?.[1]?.toLowerCase();
  const rest = match?.[2] ?? '';
  switch (scheme) {
    case 'postgresql':
    case 'postgres':
      return { dialect: 'postgres', connectionString: `postgresql://${rest}` };
    case 'mysql':
    case 'mariadb':
      return { dialect: 'mysql', uri: `mysql://${rest}` };
    case 'sqlite':
      // SQLAlchemy: `sqlite:///a.db` is relative, `sqlite:////a.db` absolute, `sqlite://` in memory.
      return { dialect: 'sqlite', file: rest === '' || rest === '/:memory:' ? ':memory:' : rest.slice(1) };
    default:
      throw new ConfigError(
        'url must be a database URL: postgresql://, mysql://, mariadb:// or sqlite:///file.db.',
        { option: 'url', value: url },
      );
  }
}

/** `?` placeholders as PostgreSQL's `$1, $2, ...`. */
function numberedPlaceholders(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${String(++index)}`);
}

interface PgQueryable {
  query(
    config: string | { name: string; text: string; values: unknown[] },
    params?: unknown[],
  ): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
}

/** The statement texts in PostgreSQL's form, and their prepared-statement names, by the `?` form. */
const pgStatements = new Map<string, { name: string; text: string }>();

function pgStatement(sql: string): { name: string; text: string } {
  let statement = pgStatements.get(sql);
  if (statement === undefined) {
    statement = { name: `beaker_${sha256Hex(sql).slice(0, 24)}`, text: numberedPlaceholders(sql) };
    pgStatements.set(sql, statement);
  }
  return statement;
}

/**
 * A pg Pool or Client as a {@link SqlClient}. With `prepare`, each statement is prepared once per connection (a
 * named statement), so the server parses and plans it once rather than on every call; off for a pool the
 * application passes in, which may sit behind a pooler that does not keep prepared statements.
 */
export function pgClient(pool: PgQueryable, close: () => Promise<void>, prepare = false): SqlClient {
  return {
    dialect: 'postgres',
    async query(sql, params = []) {
      const { name, text } = pgStatement(sql);
      const values = [...params];
      const result = await (prepare ? pool.query({ name, text, values }) : pool.query(text, values));
      return { rows: result.rows, affected: result.rowCount ?? 0 };
    },
    close,
  };
}

/**
 * LISTEN on one connection taken from the pool for good. A connection that drops is replaced by the next
 * listen() call (waiters fall back to polling meanwhile).
 */
class PgListener {
  readonly #pool: import('pg').Pool;
  #connection: Promise<import('pg').PoolClient> | undefined;
  readonly #handlers = new Map<string, (payload: string) => void>();

  constructor(pool: import('pg').Pool) {
    this.#pool = pool;
  }

  async listen(channel: string, onMessage: (payload: string) => void): Promise<void> {
    const known = this.#handlers.has(channel);
    this.#handlers.set(channel, onMessage);
    const connection = await this.#connect();
    if (!known) await connection.query(`LISTEN "${channel}"`);
  }

  #connect(): Promise<import('pg').PoolClient> {
    if (!this.#connection) {
      const connecting = this.#pool.connect().then(async (connection) => {
        connection.on('notification', (message) => {
          this.#handlers.get(message.channel)?.(message.payload ?? '');
        });
        connection.on('error', () => {
          this.#connection = undefined;
          connection.release(true);
        });
        // A replaced connection listens again on every channel.
        for (const channel of this.#handlers.keys()) await connection.query(`LISTEN "${channel}"`);
        return connection;
      });
      connecting.catch(() => {
        this.#connection = undefined;
      });
      this.#connection = connecting;
    }
    return this.#connection;
  }

  close(): void {
    void this.#connection?.then(
      (connection) => {
        connection.release(true);
      },
      () => undefined,
    );
    this.#connection = undefined;
  }
}

interface MysqlQueryable {
  query(sql: string, params?: unknown[]): Promise<[unknown, unknown]>;
}

const MYSQL_DEADLOCK = 'ER_LOCK_DEADLOCK';

/** A mysql2 promise Pool or Connection as a {@link SqlClient}; a deadlocked statement is retried. */
export function mysqlClient(pool: MysqlQueryable, close: () => Promise<void>, timeoutMs?: number): SqlClient {
  const run = async (sql: string, params: readonly unknown[]): Promise<SqlResult> => {
    const options = timeoutMs === undefined ? sql : ({ sql, timeout: timeoutMs } as unknown as string);
    const [result] = await pool.query(options, [...params]);
    if (Array.isArray(result)) return { rows: result as Record<string, unknown>[], affected: 0 };
    return { rows: [], affected: (result as { affectedRows?: number }).affectedRows ?? 0 };
  };
  return {
    dialect: 'mysql',
    async query(sql, params = []) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await run(sql, params);
        } catch (error) {
          // InnoDB may pick an upsert as a deadlock victim; the statement is safe to run again.
          if ((error as { code?: string }).code !== MYSQL_DEADLOCK || attempt >= 5) throw error;
        }
      }
    },
    close,
  };
}

/** Opens a pool for a parsed URL. */
export async function openSqlClient(target: DatabaseTarget, pool: PoolSettings): Promise<SqlClient> {
  switch (target.dialect) {
    case 'postgres': {
      const pg = await loadClient(PG, USED_BY);
      const created = new pg.default.Pool({
        connectionString: target.connectionString,
        max: pool.size,
        connectionTimeoutMillis: pool.acquireTimeoutMs,
        query_timeout: pool.statementTimeoutMs,
        ...(pool.recycleSeconds > 0 ? { maxLifetimeSeconds: pool.recycleSeconds } : {}),
      });
      // An idle connection that drops (server restart) is replaced on the next checkout.
      created.on('error', () => undefined);
      const listener = new PgListener(created);
      return {
        ...pgClient(
          created,
          async () => {
            listener.close();
            await created.end();
          },
          true,
        ),
        listen: (channel, onMessage) => listener.listen(channel, onMessage),
        notify: async (channel, payload) => {
          await created.query('SELECT pg_notify($1, $2)', [channel, payload]);
        },
      };
    }
    case 'mysql': {
      const mysql = await loadClient(MYSQL2, USED_BY);
      const created = mysql.createPool({
        uri: target.uri,
        connectionLimit: pool.size,
        connectTimeout: pool.acquireTimeoutMs,
        charset: 'utf8mb4',
        ...(pool.recycleSeconds > 0 ? { idleTimeout: pool.recycleSeconds * 1000 } : {}),
      });
      // Named locks wait on connections of their own, so waiting never drains the entries' pool.
      const locksPool = mysql.createPool({
        uri: target.uri,
        connectionLimit: pool.size,
        connectTimeout: pool.acquireTimeoutMs,
      });
      const namedLocks = new MysqlNamedLocks(locksPool, new URL(target.uri).pathname);
      return {
        ...mysqlClient(
          created,
          async () => {
            await Promise.all([created.end(), namedLocks.close()]);
          },
          pool.statementTimeoutMs,
        ),
        namedLocks,
      };
    }
    case 'sqlite': {
      const { openSqlite } = await import('./sqlite.js');
      return openSqlite(target.file, pool.statementTimeoutMs);
    }
  }
}

/**
 * The `bind` of `ext:sqla` as a {@link SqlClient}: a pg Pool or Client, a mysql2 Pool or Connection (callback or
 * promise API), or a {@link SqlClient}. It is never closed by beaker-ts.
 */
export function wrapBoundClient(bind: unknown): SqlClient {
  const keepOpen = (): Promise<void> => Promise.resolve();
  const given = (typeof bind === 'object' && bind !== null ? bind : {}) as Record<string, unknown>;
  if (typeof given.query === 'function' && typeof given.dialect === 'string') {
    const client = given as unknown as SqlClient;
    // Its notifications stay: lock waiters are woken by them instead of polling.
    const listen = client.listen?.bind(client);
    const notify = client.notify?.bind(client);
    const wakeUps: Pick<SqlClient, 'listen' | 'notify'> = listen && notify ? { listen, notify } : {};
    return {
      dialect: client.dialect,
      query: (sql, params) => client.query(sql, params),
      close: keepOpen,
      ...wakeUps,
      ...(client.namedLocks ? { namedLocks: client.namedLocks } : {}),
    };
  }
  // pg: a Pool counts its clients, a Client has its connection parameters.
  if (typeof given.query === 'function' && ('totalCount' in given || 'connectionParameters' in given)) {
    return pgClient(given as unknown as PgQueryable, keepOpen);
  }
  // mysql2: the callback API has config and promise(), which gives the promise API; the promise API wraps its
  // callback pool or connection.
  if (typeof given.query === 'function' && ('config' in given || 'pool' in given || 'connection' in given)) {
    const promised =
      typeof given.promise === 'function' ? (given.promise as () => unknown).call(given) : given;
    return mysqlClient(promised as MysqlQueryable, keepOpen);
  }
  throw new BackendError(
    'ext:sqla',
    'bind must be a pg Pool or Client, a mysql2 Pool or Connection, or an object with dialect and query()',
  );
}
