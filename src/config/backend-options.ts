/**
 * The back-ends' own options, as they can be given in code or in a configuration (`cache.url`, `session.url`).
 * @module
 */

/**
 * The built-in back-ends' options, typed for code (each back-end's descriptor holds its rules: see
 * `beaker-ts/backends/<name>`). A back-end of your own with its own options can declare them here, so that they
 * type-check in code:
 *
 * @example
 * declare module 'beaker-ts' {
 *   interface BackendOptions {
 *     bucket?: string;
 *   }
 * }
 */
export interface BackendOptions {
  /**
   * Seconds after which a lock (a cache entry's creation lock, a session's lock) whose holder stopped (killed,
   * hung) is taken over. At least 5.
   * @default 10
   * @example 30
   */
  lock_lease?: number | null;
  /**
   * Where the store is: `redis://[:password@]host:port/db` (`ext:redis`), `host:port;host:port` (`ext:memcached`),
   * a SQLAlchemy-style URL such as `postgresql://user@host/db`, `mysql://root@host/db` or `sqlite:///cache.db`
   * (`ext:database`), `mongodb://host/db` (`ext:mongodb`), the Datastore emulator's `http://host:port`
   * (`ext:google`). In code, a connected client can be given instead: an ioredis or node-redis client, a
   * MongoClient.
   * @default null
   * @example 'redis://127.0.0.1:6379/0'
   */
  url?: string | object | null;
  /**
   * `ext:rediscluster`: the seed nodes, comma-separated (`redis://host:7000,redis://host:7001`), or an ioredis
   * `Cluster` in code.
   * @default null
   * @example 'redis://10.0.0.1:7000,redis://10.0.0.2:7000'
   */
  urls?: string | object | null;
  /**
   * `ext:redis`: the client library: `auto` (node-redis when installed, else ioredis), `redis` or `ioredis`.
   * @default 'auto'
   * @example 'ioredis'
   */
  redis_module?: 'auto' | 'redis' | 'ioredis' | null;
  /**
   * `ext:memcached`: the client library: `auto` (memjs when installed, else memcached), `memjs` or `memcached`.
   * @default 'auto'
   * @example 'memcached'
   */
  memcache_module?: 'auto' | 'memjs' | 'memcached' | null;
  /**
   * `ext:database`, `ext:mongodb`, `ext:google`: the table, collection or Datastore kind of the entries.
   * @default 'beaker_cache'
   * @example 'app_cache'
   */
  table_name?: string | null;
  /**
   * `ext:database`: the schema (PostgreSQL) or database (MySQL) of the table.
   * @default null
   * @example 'cache'
   */
  schema_name?: string | null;
  /**
   * `ext:sqla`: the legacy name of `table_name`.
   * @default null
   * @example 'beaker_cache'
   */
  table?: string | null;
  /**
   * `ext:sqla`: the application's own connection pool (a pg Pool or Client, a mysql2 Pool or Connection);
   * `ext:google`: a Datastore client. Never closed by beaker-ts.
   * @default null
   */
  bind?: object | null;
  /**
   * `ext:database`: SQLAlchemy's pool options, as flat `sa.*` keys give them: `sa.url`, `sa.pool_size`,
   * `sa.pool_timeout` (seconds), `sa.pool_recycle` (seconds).
   * @default null
   * @example { 'sa.pool_size': 5 }
   */
  sa_opts?: Readonly<Record<string, unknown>> | null;
  /**
   * `ext:google`: the Google Cloud project.
   * @default the client library's own discovery
   * @example 'my-project'
   */
  project_id?: string | null;
  /**
   * `ext:google`: the Datastore namespace of the entries.
   * @default null
   * @example 'cache'
   */
  datastore_namespace?: string | null;
  /**
   * `dbm`: Beaker's legacy name of `data_dir`.
   * @default null
   */
  dbm_dir?: string | null;
  /**
   * `file`: Beaker's legacy name of `data_dir`.
   * @default null
   */
  file_dir?: string | null;
  /**
   * Beaker's dbm module choice; beaker-ts's `dbm` back-end always uses LMDB, so it is accepted and ignored.
   * @default null
   */
  dbmmodule?: string | null;
  /**
   * Beaker's file-name digest switch; beaker-ts always names files by digest, so it is accepted and ignored.
   * @default null
   */
  digest_filenames?: boolean | string | null;
  /**
   * `memory`: bound on the number of entries, evicting the least recently used.
   * @default null
   * @example 10000
   */
  max_items?: number | null;
  /**
   * `memory`: store values serialized (callers get copies), or as they are (faster; callers share objects).
   * @default true
   * @example false
   */
  serialize?: boolean | null;
  /**
   * `ext:redis` caches: the time to live, in seconds, of entries written without an expiry (Beaker's redis
   * `timeout`). A session's `timeout` is the session's own idle timeout instead.
   * @default null
   * @example 86400
   */
  timeout?: number | string | null;
  /**
   * Beaker's log file option; accepted and ignored.
   * @default null
   */
  log_file?: string | null;
}
