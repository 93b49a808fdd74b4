/**
 * `ext:database` (a SQLAlchemy-style URL: PostgreSQL, MySQL/MariaDB, SQLite) and `ext:sqla` (a pool the application
 * already has).
 *
 * - One row per entry in `table_name` (default `beaker_cache`, created if missing): the namespace and key are
 *   matched by their SHA-256, and kept readable beside it; `expires_at` (milliseconds since the epoch) is indexed,
 *   so reads skip expired rows and `prune()` deletes them in one statement. Beaker kept one pickled row per
 *   namespace, which lost concurrent writes.
 * - `getMany()` is one `SELECT ... AND key_hash IN (...)` of the live rows per 512 keys.
 * - Creation locks are lease rows in the same table: taken by an insert that fails when another holder has the row,
 *   renewed while held, released by their holder only. Waiters are woken by NOTIFY (PostgreSQL), by the holder's
 *   named lock (MySQL's GET_LOCK) or by a notification file (SQLite), with a short capped poll as the fallback.
 * - Every statement has a timeout, and the pool a bounded wait for a connection.
 * @module
 */
import { BackendError, ConfigError } from '../../shared/errors.js';
import { namespaceDigest, sha256Hex } from '../kit/digest.js';
import { storeCommand } from '../../shared/store-command.js';
import { fetchByIds } from '../kit/batches.js';
import { ReadCoalescer } from '../kit/read-coalescer.js';
import { LeaseLockProvider, leaseMsOf, type LeaseStore } from '../../locks/lease.js';
import { ReleaseWaiters } from '../../locks/release-waiters.js';
import { RowLeaseStore, type InsertingLeaseRows } from '../../locks/row-leases.js';
import { sleep, systemTimers, type Timers } from '../../shared/timers.js';
import type {
  Backend,
  BackendCapabilities,
  BackendContext,
  BackendFactory,
  SetOptions,
} from '../contract.js';
import {
  openSqlClient,
  parseDatabaseUrl,
  wrapBoundClient,
  type PoolSettings,
  type SqlClient,
  type SqlDialect,
} from './sql-client.js';

export type { SqlClient, SqlDialect, SqlResult } from './sql-client.js';

/** Options of `ext:database` and `ext:sqla`. */
export interface DatabaseBackendOptions {
  /** SQLAlchemy-style URL: `postgresql://user@host/db`, `mysql://root@host/db`, `sqlite:///cache.db`. */
  url?: string;
  /** `sa.url`, `sa.pool_size`, `sa.pool_timeout` (seconds), `sa.pool_recycle` (seconds), as in Beaker. */
  sa_opts?: Readonly<Record<string, unknown>> | null;
  /** The table (default `beaker_cache`). */
  table_name?: string | null;
  /** The schema (PostgreSQL) or database (MySQL) of the table. */
  schema_name?: string | null;
  /** ext:sqla: a pg Pool or Client, a mysql2 Pool or Connection, or a {@link SqlClient}; never closed by us. */
  bind?: unknown;
  /** ext:sqla: the table name (Beaker took a Table object). */
  table?: string | null;
  /** Lease of a creation lock whose holder stopped, in seconds. */
  lock_lease?: number | null;
}

const DEFAULT_TABLE = 'beaker_cache';
const STATEMENT_TIMEOUT_MS = 10_000;
const DEFAULT_POOL: PoolSettings = {
  size: 10,
  acquireTimeoutMs: 5000,
  recycleSeconds: 0,
  statementTimeoutMs: STATEMENT_TIMEOUT_MS,
};
/** The `ns_hash` of lock rows: not a 64-digit digest, so never a namespace's. */
const LOCK_NAMESPACE = 'lock';
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const COLUMNS = 'ns_hash, key_hash, namespace, entry_key, data, expires_at';
/**
 * Key hashes in one `getMany` statement (a power of two), and such statements in flight at once (each holds a
 * pooled connection).
 */
const SELECT_LIMITS = { batchSize: 512, concurrency: 2 };

/**
 * The placeholders of a `getMany` statement for `count` key hashes: the next power of two, the list padded with
 * its last hash. A handful of statement texts, each prepared once per connection, rather than one per count.
 */
function placeholderCount(count: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, count)));
}

/** The SQL of one dialect for one table. */
interface Statements {
  /** The table's qualified name. */
  table: string;
  create: string[];
  checkLayout: string;
  get: string;
  /** The live rows of one namespace among `count` key hashes (`count` from {@link placeholderCount}). */
  getMany: (count: number) => string;
  upsert: string;
  delete: string;
  keys: string;
  clear: string;
  prune: string;
  pruneLocks: string;
  readLock: string;
  readLockOwner: string;
  takeLock: string;
  dropExpiredLock: string;
  renewLock: string;
  releaseLock: string;
}

function quote(dialect: SqlDialect, name: string): string {
  return dialect === 'mysql' ? `\`${name}\`` : `"${name}"`;
}

function statements(dialect: SqlDialect, table: string, schema: string | undefined): Statements {
  const name = (schema === undefined ? '' : `${quote(dialect, schema)}.`) + quote(dialect, table);
  const live = '(expires_at IS NULL OR expires_at > ?)';
  const text = dialect === 'mysql' ? 'LONGTEXT' : 'TEXT';
  // Entries are UTF-8 bytes: PostgreSQL text refuses NUL characters, and SQLite's text binding stops at them.
  const bytes = { postgres: 'BYTEA', mysql: 'LONGBLOB', sqlite: 'BLOB' }[dialect];
  const hash = dialect === 'mysql' ? 'VARCHAR(64) CHARACTER SET ascii' : 'VARCHAR(64)';
  const columns = `ns_hash ${hash} NOT NULL, key_hash ${hash} NOT NULL, namespace ${text} NOT NULL,
    entry_key ${text} NOT NULL, data ${bytes} NOT NULL, expires_at BIGINT NULL, PRIMARY KEY (ns_hash, key_hash)`;
  const create =
    dialect === 'mysql'
      ? [
          `CREATE TABLE IF NOT EXISTS ${name} (${columns}, KEY ${quote(dialect, `${table}_expires_at`)} (expires_at))
           ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
        ]
      : [
          `CREATE TABLE IF NOT EXISTS ${name} (${columns})${dialect === 'sqlite' ? ' WITHOUT ROWID' : ''}`,
          `CREATE INDEX IF NOT EXISTS ${quote(dialect, `${table}_expires_at`)} ON ${name} (expires_at)`,
        ];
  const insert = `INSERT INTO ${name} (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`;
  const upsert =
    dialect === 'mysql'
      ? `${insert} ON DUPLICATE KEY UPDATE data = VALUES(data), expires_at = VALUES(expires_at)`
      : `${insert} ON CONFLICT (ns_hash, key_hash) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`;
  const insertIfAbsent =
    dialect === 'mysql'
      ? insert.replace('INSERT', 'INSERT IGNORE')
      : `${insert} ON CONFLICT (ns_hash, key_hash) DO NOTHING`;
  const lockRow = `ns_hash = '${LOCK_NAMESPACE}' AND key_hash = ?`;
  return {
    table: name,
    create,
    checkLayout: `SELECT ${COLUMNS} FROM ${name} WHERE 1 = 0`,
    get: `SELECT data FROM ${name} WHERE ns_hash = ? AND key_hash = ? AND ${live}`,
    getMany: (count) =>
      `SELECT key_hash, data FROM ${name} WHERE ns_hash = ? AND ${live} AND key_hash IN (${Array.from({ length: count }, () => '?').join(', ')})`,
    upsert,
    delete: `DELETE FROM ${name} WHERE ns_hash = ? AND key_hash = ? AND ${live}`,
    keys: `SELECT entry_key FROM ${name} WHERE ns_hash = ? AND ${live}`,
    clear: `DELETE FROM ${name} WHERE ns_hash = ?`,
    prune: `DELETE FROM ${name} WHERE expires_at <= ? AND ns_hash <> '${LOCK_NAMESPACE}'`,
    pruneLocks: `DELETE FROM ${name} WHERE expires_at <= ? AND ns_hash = '${LOCK_NAMESPACE}'`,
    readLock: `SELECT expires_at FROM ${name} WHERE ${lockRow}`,
    readLockOwner: `SELECT data FROM ${name} WHERE ${lockRow}`,
    takeLock: insertIfAbsent,
    dropExpiredLock: `DELETE FROM ${name} WHERE ${lockRow} AND expires_at <= ?`,
    renewLock: `UPDATE ${name} SET expires_at = ? WHERE ${lockRow} AND data = ?`,
    releaseLock: `DELETE FROM ${name} WHERE ${lockRow} AND data = ?`,
  };
}

function identifier(option: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new ConfigError(
      `${option} must be a SQL identifier: letters, digits and _, not starting with a digit.`,
      {
        option,
        value,
      },
    );
  }
  return value;
}

const decoder = new TextDecoder();

/** The text in a `data` column: drivers give bytes as a Buffer (pg, mysql2) or an ArrayBuffer (libsql). */
function textOf(data: unknown): string | undefined {
  return data instanceof Uint8Array || data instanceof ArrayBuffer ? decoder.decode(data) : undefined;
}

export class DatabaseBackend implements Backend {
  readonly type: string;
  readonly capabilities: BackendCapabilities;
  readonly locks: LeaseLockProvider;
  readonly #client: SqlClient;
  readonly #sql: Statements;
  readonly #clock: () => number;
  readonly #timers: Timers;
  readonly #reads = new ReadCoalescer<string | undefined>();

  constructor(
    type: string,
    client: SqlClient,
    sql: Statements,
    options: { leaseMs: number; inMemory: boolean },
    context: BackendContext,
  ) {
    this.type = type;
    this.#client = client;
    this.#sql = sql;
    this.#clock = context.clock;
    this.#timers = context.timers ?? systemTimers;
    this.capabilities = {
      nativeTtl: false,
      sharedAcrossProcesses: !options.inMemory,
      // A SQLite file is shared by the processes of its host only.
      sharedAcrossHosts: client.dialect !== 'sqlite',
      ttlResolutionMs: 1,
    };
    this.locks = new LeaseLockProvider(new SqlLeaseStore(client, sql, this.#timers), {
      prefix: 'lock:',
      leaseMs: options.leaseMs,
      backend: type,
      context,
    });
  }

  #run(what: string, sql: string, params: readonly unknown[]): ReturnType<SqlClient['query']> {
    return storeCommand(this.type, what, () => this.#client.query(sql, params));
  }

  get(namespace: string, key: string): Promise<string | undefined> {
    const [namespaceHash, keyHash] = [namespaceDigest(namespace), sha256Hex(key)];
    return this.#reads.read(`${namespaceHash}:${keyHash}`, () => this.#select(namespaceHash, keyHash));
  }

  async #select(namespaceHash: string, keyHash: string): Promise<string | undefined> {
    const { rows } = await this.#run('SELECT', this.#sql.get, [namespaceHash, keyHash, this.#clock()]);
    return textOf(rows[0]?.data);
  }

  /**
   * One `SELECT ... WHERE ns_hash = ? AND key_hash IN (...)` of the live rows per {@link SELECT_LIMITS} batch of
   * distinct keys (so one for up to 512 keys); expiry checked at one instant.
   */
  async getMany(namespace: string, keys: readonly string[]): Promise<(string | undefined)[]> {
    const namespaceHash = namespaceDigest(namespace);
    const now = this.#clock();
    return fetchByIds(keys.map(sha256Hex), SELECT_LIMITS, async (batch) => {
      const count = placeholderCount(batch.length);
      const hashes = [...batch, ...Array<string>(count - batch.length).fill(batch.at(-1) ?? '')];
      const { rows } = await this.#run('SELECT', this.#sql.getMany(count), [namespaceHash, now, ...hashes]);
      const found = new Map<string, string>();
      for (const row of rows) {
        const text = textOf(row.data);
        if (text !== undefined) found.set(String(row.key_hash), text);
      }
      return found;
    });
  }

  async set(namespace: string, key: string, data: string, options: SetOptions = {}): Promise<void> {
    const expiresAt = options.ttlMs === undefined ? null : Math.ceil(this.#clock() + options.ttlMs);
    const [namespaceHash, keyHash] = [namespaceDigest(namespace), sha256Hex(key)];
    this.#reads.forget(`${namespaceHash}:${keyHash}`);
    await this.#run('INSERT', this.#sql.upsert, [
      namespaceHash,
      keyHash,
      // JSON keeps NUL characters, which PostgreSQL text refuses, as \u0000.
      JSON.stringify(namespace),
      JSON.stringify(key),
      Buffer.from(data, 'utf8'),
      expiresAt,
    ]);
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    const params = [namespaceDigest(namespace), sha256Hex(key), this.#clock()];
    this.#reads.forget(`${params[0]}:${params[1]}`);
    return (await this.#run('DELETE', this.#sql.delete, params)).affected > 0;
  }

  async keys(namespace: string): Promise<string[]> {
    const { rows } = await this.#run('SELECT', this.#sql.keys, [namespaceDigest(namespace), this.#clock()]);
    return rows.map((row) => JSON.parse(String(row.entry_key)) as string);
  }

  async clear(namespace: string): Promise<void> {
    this.#reads.forgetAll();
    await this.#run('DELETE', this.#sql.clear, [namespaceDigest(namespace)]);
  }

  async prune(): Promise<number> {
    const entries = await this.#run('DELETE', this.#sql.prune, [this.#clock()]);
    // Leases run on the timers' clock, whatever clock entries use.
    const locks = await this.#run('DELETE', this.#sql.pruneLocks, [this.#timers.now()]);
    return entries.affected + locks.affected;
  }

  async close(): Promise<void> {
    await this.locks.close();
    await this.#client.close();
  }
}

/** The PostgreSQL channel a released lock is announced on (the payload is the lock's key). */
const RELEASE_CHANNEL = 'beaker_lock_released';

/**
 * Leases as rows, taken by a {@link RowLeaseStore}: an insert that does nothing when the row exists takes the lock.
 * On PostgreSQL a release is announced by NOTIFY (SQLite: a line in a watched file); on MySQL the holder keeps a
 * named lock that waiters block on. Either wakes waiters at once; where none can (and if a wake-up is lost) they
 * poll.
 */
class SqlLeaseStore implements LeaseStore {
  readonly #client: SqlClient;
  readonly #sql: Statements;
  readonly #timers: Timers;
  readonly #waiters: ReleaseWaiters;
  readonly #leases: RowLeaseStore;
  #listening: Promise<boolean> | undefined;
  /** The releases of the named locks held with each lease taken here, by lock key and token. */
  readonly #heldNamedLocks = new Map<string, () => Promise<void>>();

  constructor(client: SqlClient, sql: Statements, timers: Timers) {
    this.#client = client;
    this.#sql = sql;
    this.#timers = timers;
    this.#waiters = new ReleaseWaiters(timers);
    this.#leases = new RowLeaseStore(sqlLeaseRows(client, sql), timers);
  }

  /** Whether release notifications arrive (listening starts on first use). */
  #listen(): Promise<boolean> {
    if (!this.#client.listen) return Promise.resolve(false);
    this.#listening ??= this.#client
      .listen(RELEASE_CHANNEL, (key) => {
        this.#waiters.wake(key);
      })
      .then(
        () => true,
        () => {
          this.#listening = undefined;
          return false;
        },
      );
    return this.#listening;
  }

  async waitForRelease(key: string, ms: number): Promise<void> {
    if (await this.#listen()) {
      await this.#waiters.wait(key, ms);
      return;
    }
    const namedLocks = this.#client.namedLocks;
    const started = this.#timers.now();
    // Blocked on the holder's named lock: back at its release. Nobody holds it: a plain poll.
    if (namedLocks && (await namedLocks.awaitRelease(this.#namedLockKey(key), ms))) return;
    await sleep(this.#timers, Math.max(0, ms - (this.#timers.now() - started)));
  }

  /** Named locks are server-wide: their key names the table too. */
  #namedLockKey(key: string): string {
    return `${this.#sql.table}\u0000${key}`;
  }

  async take(key: string, token: string, leaseMs: number): Promise<boolean> {
    const taken = await this.#leases.take(key, token, leaseMs);
    if (taken && this.#client.namedLocks) {
      const release = await this.#client.namedLocks.hold(this.#namedLockKey(key));
      if (release) this.#heldNamedLocks.set(`${key}\u0000${token}`, release);
    }
    return taken;
  }

  renew(key: string, token: string, leaseMs: number): Promise<boolean> {
    return this.#leases.renew(key, token, leaseMs);
  }

  owner(key: string): Promise<string | undefined> {
    return this.#leases.owner(key);
  }

  async release(key: string, token: string): Promise<boolean> {
    const namedLock = this.#heldNamedLocks.get(`${key}\u0000${token}`);
    this.#heldNamedLocks.delete(`${key}\u0000${token}`);
    let released: boolean;
    try {
      released = await this.#leases.release(key, token);
    } finally {
      // After the row is gone, so that the waiters it wakes can take the lock; and even when the delete failed,
      // so that its connection goes back to the pool.
      await namedLock?.();
    }
    if (released) await this.#client.notify?.(RELEASE_CHANNEL, key).catch(() => undefined);
    return released;
  }
}

/** The lease rows of a table: rows of the lock namespace, whose `data` is the owner token. */
function sqlLeaseRows(client: SqlClient, sql: Statements): InsertingLeaseRows {
  const affectsOne = async (statement: string, params: readonly unknown[]): Promise<boolean> =>
    (await client.query(statement, params)).affected === 1;
  return {
    leaseEndOf: async (key) => {
      const { rows } = await client.query(sql.readLock, [key]);
      return rows.length > 0 ? Number(rows[0]?.expires_at) : undefined;
    },
    ownerOf: async (key) => textOf((await client.query(sql.readLockOwner, [key])).rows[0]?.data),
    dropEnded: async (key, now) => {
      await client.query(sql.dropExpiredLock, [key, now]);
    },
    insertIfAbsent: (key, token, leaseEnd) =>
      affectsOne(sql.takeLock, [LOCK_NAMESPACE, key, '""', '""', Buffer.from(token), leaseEnd]),
    extend: (key, token, leaseEnd) => affectsOne(sql.renewLock, [leaseEnd, key, Buffer.from(token)]),
    remove: (key, token) => affectsOne(sql.releaseLock, [key, Buffer.from(token)]),
  };
}

/** Reads Beaker's `sa_opts` pool settings; other `sa.*` keys are reported as ignored. */
function poolSettings(
  saOpts: Readonly<Record<string, unknown>>,
  context: BackendContext,
  type: string,
): PoolSettings {
  const settings = { ...DEFAULT_POOL, statementTimeoutMs: context.commandTimeoutMs ?? STATEMENT_TIMEOUT_MS };
  const number = (option: string): number | undefined => {
    const value = saOpts[option];
    if (value === undefined || value === null || value === '') return undefined;
    const parsed = Number(value);
    if (!Number.isFinite(parsed)) {
      throw new ConfigError(`${option} must be a number.`, { option, value });
    }
    return parsed;
  };
  for (const option of Object.keys(saOpts)) {
    if (['sa.url', 'sa.pool_size', 'sa.pool_timeout', 'sa.pool_recycle'].includes(option)) continue;
    context.report({
      type: 'backend-warning',
      backend: type,
      message: `${option} is a SQLAlchemy option beaker-ts does not use; it is ignored`,
    });
  }
  const size = number('sa.pool_size');
  if (size !== undefined) settings.size = Math.max(1, Math.floor(size));
  const timeout = number('sa.pool_timeout');
  if (timeout !== undefined) settings.acquireTimeoutMs = Math.max(1, timeout * 1000);
  const recycle = number('sa.pool_recycle');
  if (recycle !== undefined) settings.recycleSeconds = Math.max(0, recycle);
  return settings;
}

async function prepareTable(type: string, client: SqlClient, sql: Statements, table: string): Promise<void> {
  let createError: unknown;
  try {
    for (const statement of sql.create) await client.query(statement);
  } catch (error) {
    // Several processes creating the table at once: one wins, and the others find it below.
    createError = error;
  }
  await client.query(sql.checkLayout).catch((error: unknown) => {
    const unreachable = networkFailure(error);
    if (unreachable !== undefined)
      throw new BackendError(type, `cannot reach the database: ${unreachable}`, { cause: error });
    throw new BackendError(
      type,
      `the table ${table} cannot be created, or exists with another layout (Beaker's one-row-per-namespace ` +
        'table?); set table_name to a new table',
      { cause: createError ?? error },
    );
  });
}

/**
 * What a failure to reach the server says (Node's system errors carry `syscall`: connect, getaddrinfo; a host with
 * several addresses fails with an AggregateError of them), or undefined for a SQL error.
 */
function networkFailure(error: unknown): string | undefined {
  if (error instanceof AggregateError) {
    const failures = error.errors.map(networkFailure).filter((text) => text !== undefined);
    return failures.length > 0 ? failures.join('; ') : undefined;
  }
  return error instanceof Error && 'syscall' in error ? error.message : undefined;
}

async function createBackend(
  type: string,
  client: SqlClient,
  options: DatabaseBackendOptions,
  table: string,
  context: BackendContext,
  inMemory = false,
): Promise<DatabaseBackend> {
  const sql = statements(client.dialect, table, identifier('schema_name', options.schema_name));
  try {
    await prepareTable(type, client, sql, table);
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
  return new DatabaseBackend(type, client, sql, { leaseMs: leaseMsOf(options), inMemory }, context);
}

/** The factory registered as `ext:database`. */
export const databaseBackend: BackendFactory = async (options, context) => {
  const typed = options as DatabaseBackendOptions;
  const saOpts = typed.sa_opts ?? {};
  const url = typed.url ?? saOpts['sa.url'];
  if (typeof url !== 'string' || url === '') {
    throw new ConfigError(
      'ext:database needs url (or sa.url): postgresql://user@host/db, mysql://user@host/db or sqlite:///file.db',
      { option: 'url', value: url },
    );
  }
  const table = identifier('table_name', typed.table_name) ?? DEFAULT_TABLE;
  const target = parseDatabaseUrl(url);
  const client = await openSqlClient(target, poolSettings(saOpts, context, 'ext:database'));
  const inMemory = target.dialect === 'sqlite' && target.file === ':memory:';
  return createBackend('ext:database', client, typed, table, context, inMemory);
};

/** The factory registered as `ext:sqla`: the same store on the application's own pool (`bind`). */
export const sqlaBackend: BackendFactory = async (options, context) => {
  const typed = options as DatabaseBackendOptions;
  if (typed.bind === undefined || typed.bind === null) {
    throw new ConfigError('bind is required: a pg Pool, a mysql2 Pool or a SqlClient', {
      option: 'bind',
      value: typed.bind,
    });
  }
  const table =
    identifier('table', typed.table) ?? identifier('table_name', typed.table_name) ?? DEFAULT_TABLE;
  return createBackend('ext:sqla', wrapBoundClient(typed.bind), typed, table, context);
};
