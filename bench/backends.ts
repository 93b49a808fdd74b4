/**
 * The server back-ends benchmark: `npm run bench` (or `npm run bench:backends`) from the repository root, with the
 * servers of `bash scripts/services.sh start` running. Writes bench/results/backends.md.
 * (a) cache get (hit) and put through beaker-ts next to the raw client (the floor) and the peers on the same
 *     server, sequentially and with 64 operations in flight: Redis (raw node-redis and ioredis, BentoCache,
 *     cache-manager 7 with @keyv/redis), Redis Cluster (raw ioredis and node-redis), memcached (raw memjs),
 *     PostgreSQL (raw pg);
 * (b) the cross-process stampede on each back-end: creations of one cold key by 4 processes × 50 callers;
 * (c) at the back-end level, a batch read of 100 keys (`getEntries`, the back-end's getMany) against 100 sequential
 *     gets and 100 concurrent gets: ext:redis (both clients), ext:rediscluster, ext:memcached (both modules).
 * Each rate is the median of 5 rounds, the contenders taking turns within a round.
 *
 * `BENCH_ONLY=getmany` (comma-separated: throughput, stampede, getmany) runs only those parts; such a partial run
 * writes bench/results/backends.partial.md (not tracked), never the full results file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { BentoCache, bentostore } from 'bentocache';
import { redisDriver } from 'bentocache/drivers/redis';
import { createCache } from 'cache-manager';
import KeyvRedis from '@keyv/redis';
import { Keyv } from 'keyv';
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import memjs from 'memjs';
import pg from 'pg';
import { CacheManager } from '../dist/index.js';
import { getEntries, type AnyBackend, type BackendDescriptor } from '../dist/backends/index.js';
import { memcachedDescriptor } from '../dist/backends/memcached/descriptor.js';
import { redisClusterDescriptor, redisDescriptor } from '../dist/backends/redis/descriptor.js';
import { formatNumber, rate, stampede, type StampedeRow } from './common.js';

const REDIS_URL = 'redis://127.0.0.1:6379/5';
const CLUSTER_URLS = ['redis://127.0.0.1:7000', 'redis://127.0.0.1:7001'];
const MEMCACHED = '127.0.0.1:11211;127.0.0.1:11212;127.0.0.1:11213';
const POSTGRES_URL = 'postgresql://postgres@127.0.0.1:5432/test';
const MARIADB_URL = 'mysql://root@127.0.0.1:3306/test';
const KEYS = 1000;
const SEQUENTIAL_OPS = Number(process.env.BENCH_SEQUENTIAL_OPS ?? 6000);
const PARALLEL_OPS = Number(process.env.BENCH_PARALLEL_OPS ?? 60_000);
const ROUNDS = 5;
/** Batch reads per contender and round in (c). */
const BATCHES = Number(process.env.BENCH_GETMANY_BATCHES ?? 200);
/** Keys in one batch read of (c). */
const BATCH_KEYS = 100;
const PARTS = ['throughput', 'stampede', 'getmany'] as const;
const only = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .map((part) => part.trim())
  .filter(Boolean);
for (const part of only) {
  if (!(PARTS as readonly string[]).includes(part))
    throw new Error(`BENCH_ONLY: unknown part ${part} (known: ${PARTS.join(', ')})`);
}
/** Whether `part` runs: every part unless BENCH_ONLY names some. */
const runs = (part: (typeof PARTS)[number]): boolean => only.length === 0 || only.includes(part);
const scratch = mkdtempSync(join(tmpdir(), 'beaker-bench-backends-'));
const run = randomUUID().slice(0, 8);

/** A small user record, about 200 bytes of JSON. */
const record = (index: number): Record<string, unknown> => ({
  id: index,
  name: `User number ${String(index)}`,
  email: `user${String(index)}@example.com`,
  tags: ['alpha', 'beta', String(index % 7)],
  score: index * 1.5,
  active: index % 2 === 0,
  createdAt: new Date(1_700_000_000_000 + index * 1000).toISOString(),
});
const keyOf = (index: number): string => `user:${String(index % KEYS)}`;

/** One library on one store: a get of a present key and a put. */
interface Contender {
  name: string;
  get(index: number): Promise<unknown>;
  put(index: number): Promise<unknown>;
  close(): Promise<void>;
}

/** One contender's figures, in the order get sequential, get 64 in flight, put sequential, put 64 in flight. */
interface Measured {
  store: string;
  name: string;
  /** Operations per second: the median over the rounds. */
  rates: number[];
  /**
   * The median over the rounds of the rate divided by the floor's rate in the same round, so that a slow spell of
   * the machine between rounds does not count against one contender only.
   */
  ratios: number[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/**
 * Fills every contender's keys, then measures them in turns; the medians of {@link ROUNDS} rounds, and of the ratios
 * to the first contender (the floor) round by round.
 */
async function measure(store: string, contenders: Contender[]): Promise<Measured[]> {
  for (const contender of contenders) {
    for (let index = 0; index < KEYS; index += 1) await contender.put(index);
  }
  const samples = new Map(contenders.map((contender) => [contender.name, [[], [], [], []] as number[][]]));
  for (let round = 0; round < ROUNDS; round += 1) {
    // Each round starts with a different contender, so none always runs on a cold or warm server.
    const turn = [
      ...contenders.slice(round % contenders.length),
      ...contenders.slice(0, round % contenders.length),
    ];
    for (const contender of turn) {
      const rows = samples.get(contender.name) as number[][];
      const get = (index: number): Promise<unknown> => contender.get(index);
      const put = (index: number): Promise<unknown> => contender.put(index);
      rows[0]?.push((await rate('get', SEQUENTIAL_OPS, 1, get)).opsPerSecond);
      rows[1]?.push((await rate('get', PARALLEL_OPS, 64, get)).opsPerSecond);
      rows[2]?.push((await rate('put', SEQUENTIAL_OPS, 1, put)).opsPerSecond);
      rows[3]?.push((await rate('put', PARALLEL_OPS, 64, put)).opsPerSecond);
    }
  }
  for (const contender of contenders) await contender.close();
  const floor = samples.get(contenders[0]?.name ?? '') as number[][];
  return contenders.map((contender) => {
    const rows = samples.get(contender.name) as number[][];
    return {
      store,
      name: contender.name,
      rates: rows.map(median),
      ratios: rows.map((row, metric) =>
        median(row.map((value, round) => value / (floor[metric]?.[round] ?? NaN))),
      ),
    };
  });
}

function beakerContender(name: string, options: Record<string, unknown>): Contender {
  const manager = new CacheManager({ ...options, expire: 3600 });
  const cache = manager.getCache(`bench-${run}`);
  return {
    name,
    get: (index) => cache.get(keyOf(index)),
    put: (index) => cache.put(keyOf(index), record(index % KEYS)),
    close: () => manager.close(),
  };
}

async function redisContenders(): Promise<Contender[]> {
  // The floor is the client beaker-ts uses by default, set as beaker-ts sets it: node-redis (which pipelines the
  // commands of one tick) without its per-command timer. ioredis, which beaker-ts uses with redis_module = ioredis
  // and for Redis Cluster, is shown with and without auto-pipelining.
  const nodeRedis = await createClient({ url: REDIS_URL, commandOptions: { timeout: 0 } }).connect();
  const raw = new Redis(REDIS_URL, { enableAutoPipelining: true });
  const plain = new Redis(REDIS_URL);
  const bento = new BentoCache({
    default: 'redis',
    stores: {
      redis: bentostore().useL2Layer(redisDriver({ connection: { host: '127.0.0.1', port: 6379, db: 5 } })),
    },
  });
  const keyv = createCache({
    stores: [new Keyv({ store: new KeyvRedis(REDIS_URL), namespace: `cm-${run}` })],
  });
  return [
    rawNodeRedis('node-redis GET/SET + JSON (raw client, the floor)', nodeRedis),
    beakerContender('beaker-ts ext:redis (node-redis, the default)', { type: 'ext:redis', url: REDIS_URL }),
    rawIoredis('ioredis GET/SET + JSON, auto-pipelining (raw client)', raw),
    rawIoredis('ioredis GET/SET + JSON, default settings (raw client)', plain),
    beakerContender('beaker-ts ext:redis (redis_module = ioredis)', {
      type: 'ext:redis',
      url: REDIS_URL,
      redis_module: 'ioredis',
    }),
    {
      name: 'BentoCache 1.6 (Redis L2 only)',
      get: (index) => bento.get({ key: `bento-${run}:${keyOf(index)}` }),
      put: (index) =>
        bento.set({ key: `bento-${run}:${keyOf(index)}`, value: record(index % KEYS), ttl: '1h' }),
      close: () => bento.disconnect(),
    },
    {
      name: 'cache-manager 7 (@keyv/redis)',
      get: (index) => keyv.get(keyOf(index)),
      put: (index) => keyv.set(keyOf(index), record(index % KEYS), 3_600_000),
      close: async () => {
        await keyv.disconnect();
      },
    },
  ];
}

/** Plain GET/SET of the JSON through a node-redis client or cluster. */
function rawNodeRedis(
  name: string,
  client: {
    get(key: string): Promise<string | null>;
    set(key: string, value: string, options: { PX: number }): Promise<unknown>;
    quit(): Promise<unknown>;
  },
): Contender {
  return {
    name,
    get: async (index) => JSON.parse((await client.get(`raw-${run}:${keyOf(index)}`)) ?? 'null') as unknown,
    put: (index) =>
      client.set(`raw-${run}:${keyOf(index)}`, JSON.stringify(record(index % KEYS)), { PX: 3_600_000 }),
    close: async () => {
      await client.quit();
    },
  };
}

/** Plain GET/SET of the JSON through an ioredis client or cluster. */
function rawIoredis(name: string, client: Redis | Cluster): Contender {
  return {
    name,
    get: async (index) => JSON.parse((await client.get(`raw-${run}:${keyOf(index)}`)) ?? 'null') as unknown,
    put: (index) =>
      client.set(`raw-${run}:${keyOf(index)}`, JSON.stringify(record(index % KEYS)), 'PX', 3_600_000),
    close: async () => {
      await client.quit();
    },
  };
}

async function clusterContenders(): Promise<Contender[]> {
  // The floor is ioredis's Cluster as beaker-ts sets it up for ext:rediscluster (auto-pipelining, a command
  // timeout); node-redis's cluster client is shown for comparison.
  const ioredisCluster = new Cluster([{ host: '127.0.0.1', port: 7000 }], {
    redisOptions: { commandTimeout: 5000 },
    enableAutoPipelining: true,
  });
  const nodeRedisCluster = createCluster({ rootNodes: [{ url: CLUSTER_URLS[0] }] });
  await nodeRedisCluster.connect();
  return [
    rawIoredis('ioredis Cluster GET/SET + JSON (raw client, the floor)', ioredisCluster),
    beakerContender('beaker-ts ext:rediscluster (ioredis)', {
      type: 'ext:rediscluster',
      urls: CLUSTER_URLS.join(','),
    }),
    rawNodeRedis('node-redis cluster GET/SET + JSON (raw client)', nodeRedisCluster),
  ];
}

function memcachedContenders(): Contender[] {
  const raw = memjs.Client.create(MEMCACHED.replaceAll(';', ','), { logger: { log: () => undefined } });
  return [
    {
      name: 'memjs get/set + JSON (raw client, the floor)',
      get: async (index) => {
        const { value } = await raw.get(`raw-${run}:${keyOf(index)}`);
        return JSON.parse(value?.toString() ?? 'null') as unknown;
      },
      put: (index) =>
        raw.set(`raw-${run}:${keyOf(index)}`, JSON.stringify(record(index % KEYS)), { expires: 3600 }),
      close: () => {
        raw.quit();
        return Promise.resolve();
      },
    },
    beakerContender('beaker-ts ext:memcached (memjs)', { type: 'ext:memcached', url: MEMCACHED }),
  ];
}

async function postgresContenders(): Promise<Contender[]> {
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 10 });
  const table = `bench_raw_${run}`;
  await pool.query(`CREATE TABLE ${table} (k TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at BIGINT)`);
  return [
    {
      name: 'pg SELECT / INSERT … ON CONFLICT + JSON (raw client, the floor)',
      get: async (index) => {
        const { rows } = await pool.query<{ data: string }>(
          `SELECT data FROM ${table} WHERE k = $1 AND (expires_at IS NULL OR expires_at > $2)`,
          [keyOf(index), Date.now()],
        );
        return JSON.parse(rows[0]?.data ?? 'null') as unknown;
      },
      put: (index) =>
        pool.query(
          `INSERT INTO ${table} VALUES ($1, $2, $3) ON CONFLICT (k) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
          [keyOf(index), JSON.stringify(record(index % KEYS)), Date.now() + 3_600_000],
        ),
      close: async () => {
        await pool.query(`DROP TABLE ${table}`);
        await pool.end();
      },
    },
    beakerContender('beaker-ts ext:database (pg)', {
      type: 'ext:database',
      url: POSTGRES_URL,
      table_name: 'beaker_bench',
    }),
  ];
}

/** One batch read of 100 keys, three ways, on one back-end. */
interface BatchRow {
  name: string;
  /** Milliseconds per 100 keys, the median of the rounds: getMany, sequential gets, concurrent gets. */
  msPer100: number[];
}

/**
 * (c): on each back-end, 100 of 200 keys present (~200-byte JSON records, as the cache would store them); each
 * round measures {@link BATCHES} reads of 100 keys by getEntries (the back-end's getMany), by 100 gets one after the
 * other, and by 100 gets at once (what getEntries does for a back-end without getMany), in turns.
 */
async function measureBatches(
  name: string,
  descriptor: BackendDescriptor,
  options: Record<string, unknown>,
): Promise<BatchRow> {
  const backend: AnyBackend = await descriptor.create(options, { clock: Date.now, report: () => undefined });
  const namespace = `bench-getmany-${run}`;
  const keys = Array.from({ length: 2 * BATCH_KEYS }, (_, index) => `user:${String(index)}`);
  for (const [index, key] of keys.entries()) {
    if (index % 2 === 0)
      await backend.set(namespace, key, JSON.stringify(record(index)), { ttlMs: 3_600_000 });
  }
  // Each batch: 100 consecutive keys from a rotating start, half of them present.
  const batchOf = (index: number): string[] => {
    const start = (index * 7) % BATCH_KEYS;
    return keys.slice(start, start + BATCH_KEYS);
  };
  const ways: ((batch: string[]) => Promise<unknown>)[] = [
    (batch) => getEntries(backend, namespace, batch),
    async (batch) => {
      for (const key of batch) await backend.get(namespace, key);
    },
    (batch) => Promise.all(batch.map((key) => backend.get(namespace, key))),
  ];
  const samples: number[][] = ways.map(() => []);
  for (let round = 0; round < ROUNDS; round += 1) {
    for (let turn = 0; turn < ways.length; turn += 1) {
      const way = (round + turn) % ways.length;
      const read = ways[way] as (batch: string[]) => Promise<unknown>;
      const { opsPerSecond } = await rate('batch', BATCHES, 1, (index) => read(batchOf(index)));
      samples[way]?.push(1000 / opsPerSecond);
    }
  }
  await backend.clear(namespace);
  await backend.close();
  return { name, msPer100: samples.map(median) };
}

/** (c)'s back-ends: what the row is called, the port that must answer, the descriptor and its options. */
const BATCH_TARGETS: [string, number, BackendDescriptor, Record<string, unknown>][] = [
  ['beaker-ts ext:redis (node-redis, the default)', 6379, redisDescriptor, { url: REDIS_URL }],
  [
    'beaker-ts ext:redis (redis_module = ioredis)',
    6379,
    redisDescriptor,
    { url: REDIS_URL, redis_module: 'ioredis' },
  ],
  ['beaker-ts ext:rediscluster (ioredis)', 7000, redisClusterDescriptor, { urls: CLUSTER_URLS.join(',') }],
  ['beaker-ts ext:memcached (memjs, the default)', 11211, memcachedDescriptor, { url: MEMCACHED }],
  [
    'beaker-ts ext:memcached (memcache_module = memcached)',
    11211,
    memcachedDescriptor,
    { url: MEMCACHED, memcache_module: 'memcached' },
  ],
];

const command = `${only.length > 0 ? `BENCH_ONLY=${only.join(',')} ` : ''}npm run bench:backends`;
const started = new Date();
const throughput: Measured[] = [];
const missing: string[] = [];
if (runs('throughput')) {
  if (await reachable('127.0.0.1', 6379)) {
    console.log('(a) Redis...');
    throughput.push(...(await measure('Redis', await redisContenders())));
  } else missing.push('Redis (127.0.0.1:6379)');
  if (await reachable('127.0.0.1', 7000)) {
    console.log('(a) Redis Cluster...');
    throughput.push(...(await measure('Redis Cluster', await clusterContenders())));
  } else missing.push('Redis Cluster (127.0.0.1:7000-7005)');
  if (await reachable('127.0.0.1', 11211)) {
    console.log('(a) memcached...');
    throughput.push(...(await measure('memcached', memcachedContenders())));
  } else missing.push('memcached (127.0.0.1:11211-11213)');
  if (await reachable('127.0.0.1', 5432)) {
    console.log('(a) PostgreSQL...');
    throughput.push(...(await measure('PostgreSQL', await postgresContenders())));
  } else missing.push('PostgreSQL (127.0.0.1:5432)');
}

const STAMPEDES: { name: string; port: number; library: string; extra: Record<string, unknown> }[] = [
  {
    name: 'beaker-ts ext:redis',
    port: 6379,
    library: 'beaker-ts server',
    extra: { options: { type: 'ext:redis', url: REDIS_URL } },
  },
  {
    name: 'beaker-ts ext:rediscluster',
    port: 7000,
    library: 'beaker-ts server',
    extra: { options: { type: 'ext:rediscluster', urls: CLUSTER_URLS.join(',') } },
  },
  {
    name: 'beaker-ts ext:memcached',
    port: 11211,
    library: 'beaker-ts server',
    extra: { options: { type: 'ext:memcached', url: MEMCACHED } },
  },
  {
    name: 'beaker-ts ext:database (PostgreSQL)',
    port: 5432,
    library: 'beaker-ts server',
    extra: { options: { type: 'ext:database', url: POSTGRES_URL, table_name: 'beaker_bench' } },
  },
  {
    name: 'beaker-ts ext:database (MariaDB)',
    port: 3306,
    library: 'beaker-ts server',
    extra: { options: { type: 'ext:database', url: MARIADB_URL, table_name: 'beaker_bench' } },
  },
  {
    name: 'beaker-ts ext:database (SQLite file)',
    port: 0,
    library: 'beaker-ts server',
    extra: { options: { type: 'ext:database', url: `sqlite:///${join(scratch, 'stampede.db')}` } },
  },
  {
    name: 'beaker-ts ext:google (Datastore emulator)',
    port: 8081,
    library: 'beaker-ts server',
    extra: { options: { type: 'ext:google', url: 'http://127.0.0.1:8081', project_id: 'beaker-ts-bench' } },
  },
  { name: 'BentoCache 1.6 (Redis L2)', port: 6379, library: 'BentoCache (Redis L2)', extra: {} },
  {
    name: 'cache-manager 7 (@keyv/redis)',
    port: 6379,
    library: 'cache-manager 7 (@keyv/redis)',
    extra: { redisUrl: REDIS_URL },
  },
];
const stampedes: (StampedeRow & { name: string })[] = [];
for (const target of runs('stampede') ? STAMPEDES : []) {
  if (target.port !== 0 && !(await reachable('127.0.0.1', target.port))) {
    missing.push(`${target.name} stampede (port ${String(target.port)})`);
    continue;
  }
  console.log(`(b) stampede: ${target.name}...`);
  const row = await stampede(target.library, scratch, { ...target.extra, unique: `${run}-${target.name}` });
  stampedes.push({ ...row, name: target.name });
}

const batches: BatchRow[] = [];
for (const [name, port, descriptor, options] of runs('getmany') ? BATCH_TARGETS : []) {
  if (!(await reachable('127.0.0.1', port))) {
    missing.push(`${name} batch reads (port ${String(port)})`);
    continue;
  }
  console.log(`(c) batch reads: ${name}...`);
  batches.push(await measureBatches(name, descriptor, options));
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const stores = [...new Set(throughput.map((row) => row.store))];
const throughputSection = `## (a) Cache get (hit) and put, operations per second

Values are ~200-byte JSON records over ${String(KEYS)} keys. "Sequential" awaits each operation before the next
(${formatNumber(SEQUENTIAL_OPS)} ops); "64 in flight" keeps 64 outstanding (${formatNumber(PARALLEL_OPS)} ops).
Median of ${String(ROUNDS)} rounds; in brackets, the median over the rounds of the ratio to the first row of the
store in the same round (so that a slow spell of the machine between rounds does not count against one contender
only). The first row is the raw client with the
client settings beaker-ts uses (the floor: a plain GET/SET of the JSON, with no expiry bookkeeping, no namespace, no
key index and no locking). On Redis the floor is node-redis, beaker-ts's default client (also under @keyv/redis);
with \`redis_module = ioredis\` beaker-ts enables ioredis's auto-pipelining. On Redis Cluster (3 masters, 3 replicas)
the floor is ioredis's Cluster as beaker-ts sets it up for \`ext:rediscluster\`; node-redis's cluster client (its
default settings) is shown beside it.

${stores
  .map((store) => {
    const rows = throughput.filter((row) => row.store === store);
    return `### ${store}

| library | get, sequential | get, 64 in flight | put, sequential | put, 64 in flight |
|---|---:|---:|---:|---:|
${rows
  .map(
    (row) =>
      `| ${row.name} | ${row.rates.map((value, metric) => `${formatNumber(value)} (${formatNumber(row.ratios[metric] ?? NaN, 2)})`).join(' | ')} |`,
  )
  .join('\n')}
`;
  })
  .join('\n')}
`;
const stampedeSection = `## (b) Cross-process stampede: one cold key, 4 processes × 50 concurrent callers, a 300 ms creation

| store and library | callers | creations (1 is perfect) | distinct values received |
|---|---:|---:|---:|
${stampedes.map((row) => `| ${row.name} | ${String(row.callers)} | ${String(row.creations)} | ${String(row.distinctValues)} |`).join('\n')}
`;
const batchSection = `## (c) Batch reads of ${String(BATCH_KEYS)} keys, at the back-end level, milliseconds per ${String(BATCH_KEYS)} keys

Each read asks ${String(BATCH_KEYS)} keys of one namespace, half of them present (~200-byte JSON records): by
\`getEntries\` (from \`beaker-ts/backends\`, which calls the back-end's \`getMany\`), by ${String(BATCH_KEYS)}
\`get\`s one after the other, and by ${String(BATCH_KEYS)} \`get\`s at once (what \`getEntries\` does for a back-end
without \`getMany\`). ${formatNumber(BATCHES)} reads per way and round, the median of ${String(ROUNDS)} rounds, the
ways taking turns; in brackets, the time over getMany's. ext:redis's getMany is one MGET; ext:rediscluster's one MGET
per hash slot (these keys have no hash tag: about one per key), auto-pipelined per master; ext:memcached's one
multi-key get per server with the memcached library, and concurrent gets with memjs (which has no multi-get).

| back-end | getMany | ${String(BATCH_KEYS)} sequential gets | ${String(BATCH_KEYS)} concurrent gets |
|---|---:|---:|---:|
${batches.map((row) => `| ${row.name} | ${row.msPer100.map((ms) => `${formatNumber(ms, 2)} (${formatNumber(ms / (row.msPer100[0] ?? NaN), 1)})`).join(' | ')} |`).join('\n')}
`;
const report = `# Server back-ends benchmark

Run ${started.toISOString()} with \`${command}\` (also part of \`npm run bench\`), one run.
Node ${process.version}, ${process.platform}/${process.arch}, ${String(cpus().length)} × ${cpu}, ${formatNumber(totalmem() / 2 ** 30, 1)} GiB.
Every server on 127.0.0.1 of the same machine (scripts/services.sh), so the client's CPU cost counts as much as
the network. beaker-ts runs as built (dist/, the JavaScript a user installs), not through the TypeScript loader.
${missing.length > 0 ? `Not measured (server not reachable): ${missing.join(', ')}.` : ''}

${[
  runs('throughput') ? throughputSection : '',
  runs('stampede') ? stampedeSection : '',
  runs('getmany') ? batchSection : '',
]
  .filter(Boolean)
  .join('\n')}`;
// A partial run (BENCH_ONLY) never replaces the full results.
const out = fileURLToPath(
  new URL(only.length > 0 ? './results/backends.partial.md' : './results/backends.md', import.meta.url),
);
writeFileSync(out, report);
rmSync(scratch, { recursive: true, force: true });
console.log(report);
console.log(`written to ${out}`);
process.exit(0);
