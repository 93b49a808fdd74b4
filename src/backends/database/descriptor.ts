/**
 * The `ext:database` and `ext:sqla` descriptors: `beaker-ts/backends/database`.
 * @module
 */
import { asGivenRule, optionalStringRule } from '../../shared/option-rules.js';
import { bindRule, lockLeaseRule, tableNameRule, urlRule } from '../kit/common-options.js';
import { defineBackend, type BackendOptionRules, type ClientDependency } from '../define.js';
import type { DatabaseBackendOptions } from './index.js';

export type { DatabaseBackendOptions } from './index.js';
export type { SqlClient, SqlDialect, SqlResult } from './sql-client.js';

/** pg, for `postgresql://` URLs. */
export const PG: ClientDependency<typeof import('pg')> = {
  name: 'pg',
  versions: '^8.0.0',
  load: () => import('pg'),
};

/** mysql2, for `mysql://` and `mariadb://` URLs. */
export const MYSQL2: ClientDependency<typeof import('mysql2/promise')> = {
  name: 'mysql2',
  versions: '^3.0.0',
  load: () => import('mysql2/promise'),
};

/** libsql, for `sqlite:///` URLs; it runs in a worker thread, so only its path is resolved here. */
export const LIBSQL: ClientDependency<string> = {
  name: 'libsql',
  versions: '^0.5.0',
  load: async () => {
    const { createRequire } = await import('node:module');
    return createRequire(import.meta.url).resolve('libsql');
  },
};

const DATABASE_OPTIONS: BackendOptionRules<DatabaseBackendOptions> = {
  url: urlRule,
  sa_opts: asGivenRule('sa_opts', 'sa.* pool options'),
  table_name: tableNameRule,
  schema_name: optionalStringRule('schema_name', 'a schema name'),
  bind: bindRule,
  table: asGivenRule('table', 'a table name'),
  lock_lease: lockLeaseRule,
};

const SERVER = { sharedAcrossProcesses: true, sharedAcrossHosts: true };

/** `ext:database`: a SQL table in PostgreSQL, MySQL/MariaDB or SQLite, opened from `url`. */
export const databaseDescriptor = defineBackend<DatabaseBackendOptions>({
  name: 'ext:database',
  options: DATABASE_OPTIONS,
  dependencies: [PG, MYSQL2, LIBSQL],
  capabilities: SERVER,
  create: async (options, context) => (await import('./index.js')).databaseBackend(options, context),
});

/** `ext:sqla`: the same table on the application's own pool (`bind`). */
export const sqlaDescriptor = defineBackend<DatabaseBackendOptions>({
  name: 'ext:sqla',
  options: DATABASE_OPTIONS,
  dependencies: [PG, MYSQL2],
  capabilities: SERVER,
  create: async (options, context) => (await import('./index.js')).sqlaBackend(options, context),
});
