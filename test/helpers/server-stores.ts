/**
 * The real servers the back-end tests use, with the options that reach them. Addresses can be changed through the
 * BEAKER_TEST_* environment variables; scripts/services.sh starts what the machine does not already run.
 */
import { unreachable } from './services.js';

export const REDIS_URL = process.env.BEAKER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/3';
export const REDIS_CLUSTER_URLS =
  process.env.BEAKER_TEST_REDIS_CLUSTER_URLS ??
  'redis://127.0.0.1:7000,redis://127.0.0.1:7001,redis://127.0.0.1:7002';
export const MEMCACHED_SERVERS =
  process.env.BEAKER_TEST_MEMCACHED_URL ?? '127.0.0.1:11211;127.0.0.1:11212;127.0.0.1:11213';
export const POSTGRES_URL =
  process.env.BEAKER_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
export const MARIADB_URL = process.env.BEAKER_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const DATASTORE_URL = process.env.BEAKER_TEST_DATASTORE_URL ?? 'http://127.0.0.1:8081';
/** MongoDB cannot be installed on these machines: its tests run only where this names a server. */
export const MONGODB_URL = process.env.BEAKER_TEST_MONGODB_URL;

/** A store on a real server: what the suites call it, its options, and why it is unavailable (if it is). */
export interface ServerStore {
  label: string;
  options: Record<string, unknown>;
  unavailable?: string;
}

function hostPort(address: string, defaultPort: number): [string, number] {
  const parsed = new URL(address.includes('://') ? address : `tcp://${address}`);
  return [parsed.hostname, Number(parsed.port || defaultPort)];
}

async function check(what: string, addresses: [string, number][]): Promise<{ unavailable?: string }> {
  for (const [host, port] of addresses) {
    const reason = await unreachable(host, port, what);
    if (reason !== undefined) return { unavailable: reason };
  }
  return {};
}

/** Every server store, each with its reachability checked. */
export async function serverStores(): Promise<ServerStore[]> {
  const redis = await check('Redis', [hostPort(REDIS_URL, 6379)]);
  const memcached = await check(
    'memcached',
    MEMCACHED_SERVERS.split(';').map((server) => hostPort(server, 11211)),
  );
  return [
    {
      label: 'ext:redis',
      options: { type: 'ext:redis', url: REDIS_URL },
      ...redis,
    },
    {
      label: 'ext:redis (redis_module = ioredis)',
      options: { type: 'ext:redis', url: REDIS_URL, redis_module: 'ioredis' },
      ...redis,
    },
    {
      label: 'ext:rediscluster',
      options: { type: 'ext:rediscluster', urls: REDIS_CLUSTER_URLS },
      ...(await check(
        'The Redis Cluster',
        REDIS_CLUSTER_URLS.split(',').map((url) => hostPort(url.trim(), 6379)),
      )),
    },
    {
      label: 'ext:memcached',
      options: { type: 'ext:memcached', url: MEMCACHED_SERVERS },
      ...memcached,
    },
    {
      label: 'ext:memcached (memcache_module = memcached)',
      options: { type: 'ext:memcached', url: MEMCACHED_SERVERS, memcache_module: 'memcached' },
      ...memcached,
    },
    {
      label: 'ext:database on PostgreSQL',
      options: { type: 'ext:database', url: POSTGRES_URL },
      ...(await check('PostgreSQL', [hostPort(POSTGRES_URL, 5432)])),
    },
    {
      label: 'ext:database on MariaDB',
      options: { type: 'ext:database', url: MARIADB_URL },
      ...(await check('MariaDB', [hostPort(MARIADB_URL, 3306)])),
    },
    {
      label: 'ext:google (Datastore emulator)',
      options: { type: 'ext:google', url: DATASTORE_URL, project_id: 'beaker-ts-test' },
      ...(await check('The Datastore emulator', [hostPort(DATASTORE_URL, 8081)])),
    },
    // MongoDB only where a server is named: none can be installed here (test/backends/mongodb.test.ts says so).
    ...(MONGODB_URL === undefined
      ? []
      : [{ label: 'ext:mongodb', options: { type: 'ext:mongodb', url: MONGODB_URL } }]),
  ];
}

/** Declares the conformance suite for each server store whose label passes `select`. */
export async function describeServerConformance(
  select: (label: string) => boolean,
  extraOptions: Record<string, unknown> = {},
): Promise<void> {
  const { describeBackendConformance } = await import('../../src/testing/index.js');
  const { vitestRunner } = await import('./vitest-runner.js');
  for (const store of (await serverStores()).filter(({ label }) => select(label))) {
    const { type, ...options } = store.options;
    describeBackendConformance({
      runner: vitestRunner,
      type: String(type),
      label: store.label,
      options: () => ({ ...options, ...extraOptions }),
      // Every built-in lease store names a lock's holder.
      deadHolderTakeover: true,
      ...(store.unavailable === undefined ? {} : { unavailable: store.unavailable }),
    });
  }
}

/**
 * Every store that several processes share, each in a fresh directory where it needs one: file, dbm and SQLite,
 * then every server store.
 */
export async function processSharedStores(): Promise<ServerStore[]> {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const scratch = (): string => mkdtempSync(join(tmpdir(), 'beaker-shared-store-'));
  return [
    { label: 'file', options: { type: 'file', data_dir: scratch() } },
    { label: 'dbm', options: { type: 'dbm', data_dir: scratch() } },
    {
      label: 'ext:database on SQLite',
      options: { type: 'ext:database', url: `sqlite:///${scratch()}/s.db` },
    },
    ...(await serverStores()),
  ];
}
