/**
 * The cache features benchmark: `npm run bench:features` (or `node --import tsx bench/features.ts` after a build)
 * from the repository root, with Redis on 127.0.0.1:6379 (database 5). Writes bench/results/features.md.
 * (a) background refresh: a caller's latency on a stale key while its refresh runs (a ~50 ms creator), beaker-ts
 *     ext:redis with `soft_timeout = 0` and BentoCache 1.6 (Redis L2 only) with a grace period and soft timeout 0,
 *     next to each one's fresh hit;
 * (b) the cost of tags on a read: a hit on an untagged entry, one with 1 tag and one with 3, on memory (CPU ns per
 *     read, each contender in a process of its own, bench/hit-child.ts) and on Redis (ops/s, beaker-ts and BentoCache);
 * (c) `cache.getMany` of 100 keys on memory against 100 `get`s awaited together.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { BentoCache, bentostore } from 'bentocache';
import { redisDriver } from 'bentocache/drivers/redis';
import { createClient } from 'redis';
import { CacheManager, type Cache } from '../dist/index.js';
import { formatNumber, hitChildCpuNs, median, quantile, rate, rotated } from './common.js';
import {
  RECORDS,
  SEQUENCE,
  allTags,
  keys,
  order,
  records,
  tagsOf,
  type TagContenderName,
  type UserRecord,
} from './hit-data.js';

const REDIS_URL = 'redis://127.0.0.1:6379/5';
const REDIS = { host: '127.0.0.1', port: 6379, db: 5 };
const run = randomUUID().slice(0, 8);
/** Every BentoCache key of this run starts with it, and every tag of this run contains `run`. */
const BENTO_PREFIX = `bench-features-${run}`;
const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

// (a) background refresh
const REFRESH_ROUNDS = 5;
/** Stale keys per library and round: each is read once to start its refresh, then by the followers. */
const REFRESH_KEYS = env('BENCH_REFRESH_KEYS', 40);
/** Reads of a key while its refresh runs, one after another, after the read that started it. */
const FOLLOWERS = 4;
const CREATE_MS = 50;
/** Fresh hits per library and round (the floor). */
const FRESH_READS = env('BENCH_FRESH_READS', 300);

// (b) tags
const TAG_ROUNDS = 5;
/** Timed reads per memory contender and round: fewer for the tagged ones, each run lasting about a second. */
const UNTAGGED_HIT_OPS = env('BENCH_UNTAGGED_HIT_OPS', 500_000);
const TAG_HIT_OPS = env('BENCH_TAG_HIT_OPS', 100_000);
const TAG_WARMUP_OPS = env('BENCH_TAG_WARMUP_OPS', 50_000);
const SEQUENTIAL_OPS = env('BENCH_SEQUENTIAL_OPS', 3000);
const PARALLEL_OPS = env('BENCH_PARALLEL_OPS', 10_000);

// (c) getMany
const GETMANY_ROUNDS = 5;
const BATCH = 100;
const WARMUP_BATCHES = env('BENCH_WARMUP_BATCHES', 300);
const BATCHES = env('BENCH_BATCHES', 2000);

const mask = SEQUENCE - 1;
/** The record read by operation `index` of a run: the shared pseudo-random order over all 10,000 records. */
const recordAt = (index: number): number => order[index & mask] as number;

function checkRecord(library: string, value: UserRecord | undefined, index: number): void {
  if (value?.id !== index || value.email !== records[index]?.email) {
    throw new Error(`${library}: record ${index} read back wrong: ${JSON.stringify(value)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// (a) Background refresh

/** A record with the generation of its value: 0 as first stored, 1 once refreshed. */
interface Versioned extends UserRecord {
  version: number;
}

/** One library on Redis, set up for stale-while-revalidate. */
interface RefreshContender {
  name: string;
  /** Stores generation 0 of record `index` under `key`, fresh for `seconds`. */
  put(key: string, index: number, seconds: number): Promise<unknown>;
  /** get-or-create with `create` as the creator: the call that is timed. */
  get(key: string, create: () => Promise<Versioned>): Promise<Versioned | undefined>;
  /** A read with no creator, to check what the refresh stored. */
  read(key: string): Promise<Versioned | undefined>;
  /** What the library itself counted, where it counts (beaker-ts's `stats()`). */
  counted?: () => string;
  close(): Promise<void>;
}

/** The latencies (ms) of one library in one round, and what its checks saw. */
interface RefreshSample {
  started: number[];
  during: number[];
  fresh: number[];
  /** Keys whose first read returned after their creator had finished (not timed: a slow spell of the machine). */
  lateStarts: number;
  /** Followers not made because the creator had already finished (a slow spell of the machine). */
  late: number;
  creations: number;
}

const generation0 = (index: number): Versioned => ({ ...(records[index] as UserRecord), version: 0 });

async function refreshContenders(): Promise<RefreshContender[]> {
  const manager = new CacheManager({
    type: 'ext:redis',
    url: REDIS_URL,
    expire: 1,
    grace: 3600,
    soft_timeout: 0,
  });
  const cache = manager.getCache<Versioned>(`features-${run}-refresh`);
  await cache.open();
  const bento = new BentoCache({
    default: 'redis',
    prefix: BENTO_PREFIX,
    // BentoCache 1.6: `grace` keeps an expired entry (its whole physical lifetime), `timeout` is the soft timeout;
    // 0 with a graced value is its stale-while-revalidate (the factory runs in the background).
    grace: '6h',
    timeout: 0,
    stores: { redis: bentostore().useL2Layer(redisDriver({ connection: REDIS })) },
  });
  return [
    {
      name: 'beaker-ts ext:redis (`soft_timeout = 0`)',
      put: (key, index, seconds) => cache.put(key, generation0(index), { expiretime: seconds }),
      get: (key, create) => cache.get(key, { createfunc: create }),
      read: (key) => cache.get(key),
      counted: () => {
        const { staleServes, refreshes } = cache.stats();
        return `its \`stats()\`: ${formatNumber(staleServes)} stale serves, ${formatNumber(refreshes)} background refreshes`;
      },
      close: async () => {
        await cache.clear();
        await manager.close();
      },
    },
    {
      name: 'BentoCache 1.6 (Redis L2 only, `grace`, `timeout: 0`)',
      put: (key, index, seconds) => bento.set({ key, value: generation0(index), ttl: seconds * 1000 }),
      get: (key, create) => bento.getOrSet<Versioned>({ key, factory: create, ttl: 1000 }),
      read: (key) => bento.get<Versioned>({ key }),
      close: () => bento.disconnect(),
    },
  ];
}

/**
 * Reads each of `keys` once it is stale: the first read starts the refresh (a {@link CREATE_MS} creator), then
 * {@link FOLLOWERS} reads come while it runs. Every timed read must return generation 0 while the key's one
 * creation is still running; afterwards the refreshed value (generation 1) must be readable.
 */
async function staleReads(
  contender: RefreshContender,
  staleKeys: string[],
  sample: RefreshSample,
): Promise<void> {
  for (const [position, key] of staleKeys.entries()) {
    const index = recordAt(position * 97);
    let runs = 0;
    let running = false;
    const create = async (): Promise<Versioned> => {
      runs += 1;
      running = true;
      await sleep(CREATE_MS);
      running = false;
      return { ...(records[index] as UserRecord), version: 1 };
    };
    const served = (value: Versioned | undefined, what: string): void => {
      if (value?.version !== 0 || value.id !== index || runs !== 1 || !running) {
        throw new Error(
          `${contender.name}: ${what} of ${key} was not served stale during its refresh (value ${JSON.stringify(value?.version)}, ${runs} creations, refresh ${running ? 'running' : 'not running'})`,
        );
      }
    };
    let started = performance.now();
    const first = await contender.get(key, create);
    const firstMs = performance.now() - started;
    if (running) {
      served(first, 'the first read');
      sample.started.push(firstMs);
    } else if (first?.version !== 0 || runs !== 1) {
      served(first, 'the first read');
    } else sample.lateStarts += 1;
    for (let follower = 0; follower < FOLLOWERS && running; follower += 1) {
      started = performance.now();
      const value = await contender.get(key, create);
      const ms = performance.now() - started;
      // The creator finished during this read: what it returned is no longer a read during the refresh.
      if (!running) {
        sample.late += FOLLOWERS - follower;
        break;
      }
      served(value, `read ${follower + 2}`);
      sample.during.push(ms);
    }
    const deadline = performance.now() + 2000;
    while ((await contender.read(key))?.version !== 1) {
      if (performance.now() > deadline)
        throw new Error(`${contender.name}: the refresh of ${key} was not stored`);
      await sleep(5);
    }
    if (runs !== 1) throw new Error(`${contender.name}: ${key} was created ${runs} times`);
    sample.creations += runs;
  }
}

async function freshReads(
  contender: RefreshContender,
  freshKeys: string[],
  sample: RefreshSample,
): Promise<void> {
  const never = (): Promise<Versioned> => Promise.reject(new Error('a fresh hit must not create'));
  for (let read = 0; read < FRESH_READS; read += 1) {
    const position = read % freshKeys.length;
    const started = performance.now();
    const value = await contender.get(freshKeys[position] as string, never);
    sample.fresh.push(performance.now() - started);
    if (value?.version !== 0 || value.id !== recordAt(position * 89)) {
      throw new Error(`${contender.name}: fresh key ${position} read back wrong`);
    }
  }
}

async function backgroundRefresh(): Promise<
  { name: string; rounds: RefreshSample[]; counted: string | undefined }[]
> {
  const contenders = await refreshContenders();
  const freshKeys = Array.from({ length: 100 }, (_unused, position) => `fresh:${run}:${position}`);
  for (const contender of contenders) {
    for (const [position, key] of freshKeys.entries())
      await contender.put(key, recordAt(position * 89), 3600);
  }
  const samples = new Map(contenders.map((contender) => [contender.name, [] as RefreshSample[]]));
  for (let round = 0; round < REFRESH_ROUNDS; round += 1) {
    const staleKeys = Array.from(
      { length: REFRESH_KEYS },
      (_unused, position) => `stale:${run}:${round}:${position}`,
    );
    for (const contender of contenders) {
      for (const [position, key] of staleKeys.entries()) await contender.put(key, recordAt(position * 97), 1);
    }
    // Past the 1 s expiry (both libraries compare whole milliseconds of Date.now()).
    await sleep(1100);
    for (const contender of rotated(contenders, round)) {
      const sample: RefreshSample = {
        started: [],
        during: [],
        fresh: [],
        lateStarts: 0,
        late: 0,
        creations: 0,
      };
      await staleReads(contender, staleKeys, sample);
      await freshReads(contender, freshKeys, sample);
      samples.get(contender.name)?.push(sample);
    }
    console.log(`  round ${round + 1}/${REFRESH_ROUNDS} done`);
  }
  const counted = contenders.map((contender) => contender.counted?.());
  for (const contender of contenders) await contender.close();
  return contenders.map((contender, position) => ({
    name: contender.name,
    rounds: samples.get(contender.name) ?? [],
    counted: counted[position],
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// (b) Tags: memory

const MEMORY_TAG_ROWS: {
  name: 'beaker get, serialized' | 'beaker get, unserialized' | TagContenderName;
  tags: number;
  serialized: boolean;
}[] = [
  { name: 'beaker get, serialized', tags: 0, serialized: true },
  { name: 'beaker get, 1 tag, serialized', tags: 1, serialized: true },
  { name: 'beaker get, 3 tags, serialized', tags: 3, serialized: true },
  { name: 'beaker get, unserialized', tags: 0, serialized: false },
  { name: 'beaker get, 1 tag, unserialized', tags: 1, serialized: false },
  { name: 'beaker get, 3 tags, unserialized', tags: 3, serialized: false },
];

async function memoryTags(): Promise<Map<string, number[]>> {
  const rounds = new Map(MEMORY_TAG_ROWS.map((row) => [row.name as string, [] as number[]]));
  for (let round = 0; round < TAG_ROUNDS; round += 1) {
    for (const row of rotated(MEMORY_TAG_ROWS, round)) {
      const ops = row.tags === 0 ? UNTAGGED_HIT_OPS : TAG_HIT_OPS;
      rounds.get(row.name)?.push(await hitChildCpuNs(row.name, ops, TAG_WARMUP_OPS));
    }
    console.log(`  round ${round + 1}/${TAG_ROUNDS} done`);
  }
  return rounds;
}

// ---------------------------------------------------------------------------------------------------------------
// (b) Tags: Redis

/** A get of a present key of one library, with its entries' tags. */
interface TaggedReader {
  library: string;
  tags: number;
  /** Whether every tag was invalidated once before the entries were written (so that its tag keys exist). */
  invalidated: boolean;
  fill(): Promise<void>;
  get(index: number): Promise<UserRecord | undefined>;
  /** Misses so far (beaker-ts counts them; BentoCache's reads are checked value by value). */
  misses(): number;
}

const tagStateName = (invalidated: boolean): string => (invalidated ? 'inv' : 'new');

/** Writes the {@link RECORDS} records with `put` (given the record's number), 64 at a time. */
const fillAll = (put: (index: number) => Promise<unknown>): Promise<void> =>
  rate('fill', RECORDS, 64, (next) => put(next - 1)).then(() => undefined);

async function taggedReaders(): Promise<{ readers: TaggedReader[]; close: () => Promise<void> }> {
  const manager = new CacheManager({ type: 'ext:redis', url: REDIS_URL, expire: 3600 });
  const bento = new BentoCache({
    default: 'redis',
    prefix: BENTO_PREFIX,
    stores: { redis: bentostore().useL2Layer(redisDriver({ connection: REDIS })) },
  });
  const shapes = [
    { tags: 0, invalidated: true },
    { tags: 1, invalidated: true },
    { tags: 3, invalidated: true },
    { tags: 1, invalidated: false },
    { tags: 3, invalidated: false },
  ];
  const caches: Cache<UserRecord>[] = [];
  const readers: TaggedReader[] = [];
  for (const { tags, invalidated } of shapes) {
    const shape = `t${tags}-${tagStateName(invalidated)}`;
    const tagsFor = (index: number): string[] => tagsOf(index, tags, `${run}:${tagStateName(invalidated)}:`);
    const cache = manager.getCache<UserRecord>(`features-${run}-${shape}`);
    caches.push(cache);
    readers.push({
      library: 'beaker-ts ext:redis',
      tags,
      invalidated,
      fill: () =>
        fillAll((index) =>
          cache.put(keys[index] as string, records[index] as UserRecord, { tags: tagsFor(index) }),
        ),
      get: (index) => cache.get(keys[index] as string),
      misses: () => cache.stats().misses,
    });
    readers.push({
      library: 'BentoCache 1.6 (Redis L2 only)',
      tags,
      invalidated,
      fill: () =>
        fillAll((index) =>
          bento.set({
            key: `${shape}:${keys[index]}`,
            value: records[index],
            ttl: '1h',
            tags: tagsFor(index),
          }),
        ),
      get: (index) => bento.get<UserRecord>({ key: `${shape}:${keys[index]}` }),
      misses: () => 0,
    });
  }
  // The invalidated tags: once each, before any entry is written (BentoCache compares whole milliseconds).
  // The 3-tag set holds the 1-tag set.
  const invalidatedTags = allTags(3, `${run}:${tagStateName(true)}:`);
  await manager.deleteByTag(invalidatedTags);
  await bento.deleteByTag({ tags: invalidatedTags });
  await sleep(20);
  return {
    readers,
    close: async () => {
      for (const cache of caches) await cache.clear();
      await manager.close();
      await bento.disconnect();
    },
  };
}

interface TaggedRow {
  reader: TaggedReader;
  /** Ops/s of each round: sequential, then 64 in flight. */
  sequential: number[];
  parallel: number[];
  /** The same over the same library's untagged row in the same round. */
  sequentialRatios: number[];
  parallelRatios: number[];
}

async function redisTags(): Promise<TaggedRow[]> {
  const { readers, close } = await taggedReaders();
  for (const reader of readers) await reader.fill();
  const rows: TaggedRow[] = readers.map((reader) => ({
    reader,
    sequential: [],
    parallel: [],
    sequentialRatios: [],
    parallelRatios: [],
  }));
  for (let round = 0; round < TAG_ROUNDS; round += 1) {
    for (const row of rotated(rows, round)) {
      const { reader } = row;
      const before = reader.misses();
      const read = async (next: number): Promise<void> => {
        const index = recordAt(next + round * 7919);
        checkRecord(`${reader.library}, ${reader.tags} tags`, await reader.get(index), index);
      };
      row.sequential.push((await rate('get', SEQUENTIAL_OPS, 1, read)).opsPerSecond);
      row.parallel.push((await rate('get', PARALLEL_OPS, 64, read)).opsPerSecond);
      if (reader.misses() !== before) throw new Error(`${reader.library}: misses during the timed reads`);
    }
    console.log(`  round ${round + 1}/${TAG_ROUNDS} done`);
  }
  await close();
  for (const row of rows) {
    const untagged = rows.find(
      (other) => other.reader.library === row.reader.library && other.reader.tags === 0,
    );
    row.sequentialRatios = row.sequential.map((value, round) => value / (untagged?.sequential[round] ?? NaN));
    row.parallelRatios = row.parallel.map((value, round) => value / (untagged?.parallel[round] ?? NaN));
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------------------
// (c) getMany on memory

interface BatchRow {
  name: string;
  serialized: boolean;
  /** CPU and wall µs per batch of {@link BATCH} keys, each round. */
  cpu: number[];
  wall: number[];
}

/** Batches of {@link BATCH} keys, consecutive stretches of the shared random order, with their ids' sum. */
const batches = Array.from({ length: Math.floor(SEQUENCE / BATCH) }, (_unused, batch) => {
  const indexes = Array.from({ length: BATCH }, (_unusedKey, position) => recordAt(batch * BATCH + position));
  return {
    keys: indexes.map((index) => keys[index] as string),
    idSum: indexes.reduce((sum, id) => sum + id, 0),
  };
});

async function getManyOnMemory(): Promise<BatchRow[]> {
  const rows: (BatchRow & {
    read: (batch: readonly string[]) => Promise<(UserRecord | undefined)[]>;
    cache: Cache<UserRecord>;
  })[] = [];
  const managers: CacheManager[] = [];
  for (const serialized of [true, false]) {
    const manager = new CacheManager(serialized ? { type: 'memory' } : { type: 'memory', serialize: false });
    managers.push(manager);
    const cache = manager.getCache<UserRecord>('bench');
    for (const [index, key] of keys.entries()) await cache.put(key, records[index] as UserRecord);
    rows.push({
      serialized,
      cpu: [],
      wall: [],
      cache,
      name: `\`getMany\` of ${BATCH} keys`,
      read: (batch) => cache.getMany(batch),
    });
    rows.push({
      serialized,
      cpu: [],
      wall: [],
      cache,
      name: `${BATCH} \`get\`s awaited together (\`Promise.all\`)`,
      read: (batch) => Promise.all(batch.map((key) => cache.get(key))),
    });
  }
  const readBatches = async (row: (typeof rows)[number], from: number, count: number): Promise<void> => {
    for (let batch = from; batch < from + count; batch += 1) {
      const { keys: batchKeys, idSum } = batches[batch % batches.length] as (typeof batches)[number];
      const values = await row.read(batchKeys);
      let sum = 0;
      for (const value of values) sum += (value as UserRecord).id;
      if (sum !== idSum) throw new Error(`${row.name}: batch ${batch} read back wrong`);
    }
  };
  for (let round = 0; round < GETMANY_ROUNDS; round += 1) {
    for (const row of rotated(rows, round)) {
      await readBatches(row, 0, WARMUP_BATCHES);
      const misses = row.cache.stats().misses;
      const wallStart = performance.now();
      const cpuStart = process.cpuUsage();
      await readBatches(row, WARMUP_BATCHES, BATCHES);
      const cpu = process.cpuUsage(cpuStart);
      row.wall.push(((performance.now() - wallStart) * 1000) / BATCHES);
      row.cpu.push((cpu.user + cpu.system) / BATCHES);
      if (row.cache.stats().misses !== misses) throw new Error(`${row.name}: misses during the timed reads`);
    }
  }
  for (const manager of managers) await manager.close();
  return rows;
}

// ---------------------------------------------------------------------------------------------------------------

/** Removes what this run left in Redis database 5 outside the namespaces cleared above: tag tokens and tag keys. */
async function cleanRedis(client: typeof raw): Promise<number> {
  let removed = 0;
  for await (const batch of client.scanIterator({ MATCH: `*${run}*`, COUNT: 1000 })) {
    const names = (Array.isArray(batch) ? batch : [batch]) as string[];
    if (names.length > 0) removed += await client.unlink(names);
  }
  return removed;
}

const range = (values: readonly number[], digits = 0): string =>
  `${formatNumber(Math.min(...values), digits)}–${formatNumber(Math.max(...values), digits)}`;

const command = 'node --import tsx bench/features.ts';
const started = new Date();
const loadAtStart = loadavg()[0] ?? NaN;
console.log('(b) tags on memory (one process per contender)...');
const memoryTagRounds = await memoryTags();
console.log('(c) getMany on memory...');
const batchRows = await getManyOnMemory();
const missing: string[] = [];
let refresh: Awaited<ReturnType<typeof backgroundRefresh>> = [];
let taggedRows: TaggedRow[] = [];
let leftovers = 0;
const raw = createClient({ url: REDIS_URL, socket: { reconnectStrategy: false, connectTimeout: 2000 } });
raw.on('error', () => undefined);
const redisUp = await raw.connect().then(
  () => true,
  () => false,
);
if (redisUp) {
  console.log('(a) background refresh on Redis...');
  refresh = await backgroundRefresh();
  console.log('(b) tags on Redis...');
  taggedRows = await redisTags();
  leftovers = await cleanRedis(raw);
  await raw.quit();
} else missing.push('Redis (127.0.0.1:6379): sections (a) and (b) on Redis');
const seconds = (Date.now() - started.getTime()) / 1000;
const loadAtEnd = loadavg()[0] ?? NaN;

const ms = (value: number): string => formatNumber(value, 2);
const refreshTable = refresh
  .flatMap(({ name, rounds }) => {
    const floor = median(rounds.map((round) => median(round.fresh)));
    const line = (what: string, pick: (round: RefreshSample) => number[]): string => {
      const medians = rounds.map((round) => median(pick(round)));
      const all = rounds.flatMap(pick);
      return `| ${name} | ${what} | ${formatNumber(all.length)} | ${ms(median(medians))} | ${range(medians, 2)} | ${ms(quantile(all, 0.99))} | ${formatNumber(median(medians) / floor, 2)} |`;
    };
    return [
      line('stale, the read that starts the refresh (takes the lock)', (round) => round.started),
      line('stale, the reads while the refresh runs', (round) => round.during),
      line('fresh hit (the floor)', (round) => round.fresh),
    ];
  })
  .join('\n');
const refreshChecks = refresh
  .map(({ name, rounds, counted }) => {
    const keysRead = rounds.reduce((sum, round) => sum + round.started.length, 0);
    const creations = rounds.reduce((sum, round) => sum + round.creations, 0);
    const late = rounds.reduce((sum, round) => sum + round.late, 0);
    const lateStarts = rounds.reduce((sum, round) => sum + round.lateStarts, 0);
    return `- ${name}: ${formatNumber(creations)} stale keys, ${formatNumber(creations)} creations (one per key), each refresh stored and read back; first reads timed: ${formatNumber(keysRead)} (left out because they returned after their creator had finished: ${formatNumber(lateStarts)}); reads during a refresh left out or not made because its creator had finished first: ${formatNumber(late)}${counted === undefined ? '' : `; ${counted}`}.`;
  })
  .join('\n');

const memoryMedian = (name: string): number => median(memoryTagRounds.get(name) ?? []);
const memoryTable = MEMORY_TAG_ROWS.map((row) => {
  const rounds = memoryTagRounds.get(row.name) ?? [];
  const base = memoryMedian(row.serialized ? 'beaker get, serialized' : 'beaker get, unserialized');
  const value = median(rounds);
  return `| ${row.serialized ? 'serialized (default)' : 'unserialized (`serialize = false`)'} | ${row.tags} | ${formatNumber(value)} | ${range(rounds)} | ${formatNumber(value / base, 2)} | ${row.tags === 0 ? '—' : formatNumber(value - base)} |`;
}).join('\n');

const taggedTable = taggedRows
  .map(({ reader, sequential, parallel, sequentialRatios, parallelRatios }) => {
    const state =
      reader.tags === 0 ? '—' : reader.invalidated ? 'invalidated once before' : 'never invalidated';
    return `| ${reader.library} | ${reader.tags} | ${state} | ${formatNumber(median(sequential))} | ${range(sequential)} | ${formatNumber(median(sequentialRatios), 2)} | ${formatNumber(median(parallel))} | ${range(parallel)} | ${formatNumber(median(parallelRatios), 2)} |`;
  })
  .join('\n');

const batchTable = batchRows
  .map((row) => {
    const other = batchRows.find((peer) => peer.serialized === row.serialized && peer !== row);
    const ratio = median(row.cpu) / median(other?.cpu ?? []);
    const isGetMany = row.name.startsWith('`getMany`');
    return `| ${row.serialized ? 'serialized (default)' : 'unserialized'} | ${row.name} | ${formatNumber(median(row.cpu), 1)} | ${range(row.cpu, 1)} | ${formatNumber((median(row.cpu) * 1000) / BATCH)} | ${formatNumber(median(row.wall), 1)} | ${isGetMany ? formatNumber(ratio, 2) : '1.00'} |`;
  })
  .join('\n');

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const report = `# Cache features benchmark: background refresh, tags, getMany

Measured with \`${command}\` after \`npm run build\` (what \`npm run bench:features\` runs; also part of \`npm run bench\`) on ${started.toISOString()} (${formatNumber(seconds)} s), one run.
Node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} × ${cpu}, ${formatNumber(totalmem() / 2 ** 30, 1)} GiB.
Load average (1 min) ${formatNumber(loadAtStart, 1)} at the start and ${formatNumber(loadAtEnd, 1)} at the end, on ${cpus().length} cores:
other work on the machine moves every figure, the wall-clock ones most. Redis on 127.0.0.1:6379 (database 5), on the
same machine. beaker-ts runs as built (dist/). Relative figures for one run on one machine, not absolute speeds.
${missing.length > 0 ? `Not measured (server not reachable): ${missing.join(', ')}.\n` : ''}
## (a) Background refresh: a read of a stale key while its refresh runs (Redis)

Each library reads its own keys on the same Redis: beaker-ts \`ext:redis\` with \`expire = 1\`, \`grace = 3600\` and
\`soft_timeout = 0\` (stale-while-revalidate: every caller, the one that takes the creation lock included, gets the
stale value at once, and the creation finishes in the background); BentoCache 1.6.1 with a Redis L2 store and no L1
(so that both go to Redis for every read), \`ttl\` 1 s, \`grace: '6h'\` and \`timeout: 0\` (in 1.6 the soft timeout is the
\`timeout\` option, 0 by default; there is no \`timeouts: { soft }\` option in this version). The read is a
get-or-create: beaker-ts \`cache.get(key, { createfunc })\`, BentoCache \`getOrSet({ key, factory, ttl })\`. The creator
takes ${CREATE_MS} ms (a timer) and returns the record's next generation.

Each round writes ${REFRESH_KEYS} keys per library with a 1 s lifetime, waits 1.1 s, then per key: one timed read
(it starts the refresh), then ${FOLLOWERS} timed reads one after another while the creator still runs, then (untimed)
waits until the refreshed value can be read. A read counts only if it returned the stale generation while the key's
one creation was still running; any other outcome, a second creation, or a refresh that was never stored fails the
run. Then ${FRESH_READS} timed get-or-create reads of 100 keys stored with a 1 h lifetime (fresh hits, the floor;
their creator fails if called). ${REFRESH_ROUNDS} rounds, the libraries' order alternating. "Median" is the median
of the ${REFRESH_ROUNDS} round medians (min–max of the round medians beside it); "p99" is over every timed read of the
row; "× fresh" is the median over the library's own fresh-hit median. Wall-clock ms of the awaited call.

Where the work differs: beaker-ts's first stale read takes the in-process lock and then the Redis lock (\`SET NX PX\`,
so that one process of all those sharing the store refreshes), reads the entry again under it and answers; BentoCache's
locks are in-process only (each process refreshes on its own), and it too reads the entry again under its lock. A
read during the refresh: beaker-ts tries the in-process lock, finds it held and answers at once; BentoCache waits
for its lock with a 0 ms timeout (an \`async-mutex\` \`withTimeout\`, which gives up on a timer) and then answers.

| library | read | timed reads | median ms | min–max of round medians | p99 ms | × fresh |
|---|---|---:|---:|---:|---:|---:|
${refreshTable}

Checks:

${refreshChecks}

## (b) Cost of tags on a read (a hit)

Tags are a record's own (\`user:<n>\`, 10,000 distinct), its group's (7) and its tenant's (100): 1 tag is the first,
3 tags all three. Unless said otherwise each tag was invalidated once (\`deleteByTag\`) before the entries were
written, so that its tokens exist in the store, as for a tag in use.

### Memory: CPU ns per read

The ${RECORDS.toLocaleString('en-US')} records of bench/run.ts (a), read in the same pre-generated random order over
all of them; each contender in a process of its own (bench/hit-child.ts): it fills the store, checks a read, makes
${TAG_WARMUP_OPS.toLocaleString('en-US')} warm-up reads, then times ${UNTAGGED_HIT_OPS.toLocaleString('en-US')} reads (untagged) or
${TAG_HIT_OPS.toLocaleString('en-US')} (tagged) with
\`process.cpuUsage\` (user + system, so the garbage collector's threads count); a miss fails the run. \`cache.get(key)\`
on the memory store. ${TAG_ROUNDS} rounds, one process at a time, the order rotated each round; the median round.

| store | tags | CPU ns/op (median) | min–max of ${TAG_ROUNDS} rounds | × untagged | extra ns per read |
|---|---:|---:|---:|---:|---:|
${memoryTable}

### Redis: get (hit) operations per second

beaker-ts \`ext:redis\` (node-redis, the default) \`cache.get(key)\`, and BentoCache 1.6.1 (it supports tags: \`set\`
and \`getOrSet\` take \`tags\`, \`deleteByTag\` invalidates) \`get({ key })\` with a Redis L2 store and no L1, each on
${RECORDS.toLocaleString('en-US')} entries of its own per row on the same Redis, read in the shared random order.
"Sequential" awaits each read (${formatNumber(SEQUENTIAL_OPS)} reads); "64 in flight" keeps 64 outstanding
(${formatNumber(PARALLEL_OPS)} reads). Every read is checked against its record; beaker-ts also counts no miss.
${TAG_ROUNDS} rounds, the rows' order rotated each round: the median and min–max of the rounds, and "× untagged", the
median over the rounds of the row's rate over its library's untagged row in the same round.

What a read does (seen with Redis \`MONITOR\`): beaker-ts reads the entry, then the two tokens of each of its tags
(\`deleted:<tag>\` and \`expired:<tag>\`) as one \`GET\` each, all sent together (node-redis writes the commands of
one tick together, so it is one more round trip whatever the number of tags; this version's \`ext:redis\` has no
batch read, so no \`MGET\`), whether or not the tags were ever invalidated. BentoCache reads the entry, then each
tag's key one after another (one \`GET\` per tag); for a tag that was never invalidated there is no key, and it runs
its tag factory under a per-tag in-process lock, which reads the key once more (two \`GET\`s per tag).

| library | tags | tag keys | sequential ops/s | min–max | × untagged | 64 in flight ops/s | min–max | × untagged |
|---|---:|---|---:|---:|---:|---:|---:|---:|
${taggedTable}

## (c) \`getMany\` on memory

\`cache.getMany(keys)\` of ${BATCH} keys against \`Promise.all(keys.map((key) => cache.get(key)))\`, on the memory store
filled with the ${RECORDS.toLocaleString('en-US')} records; each batch is ${BATCH} consecutive keys of the shared random
order (so some repeat). Measured in this process, before any Redis client is opened: per round and row,
${formatNumber(WARMUP_BATCHES)} warm-up batches, then ${formatNumber(BATCHES)} timed batches (\`process.cpuUsage\` and
wall time), the sum of the ids read checked for every batch and no miss counted. ${GETMANY_ROUNDS} rounds, the rows'
order rotated; the median round. "× Promise.all" is the CPU median over that of the 100 \`get\`s of the same store.

| store | way | CPU µs per ${BATCH} keys (median) | min–max | CPU ns per key | wall µs per ${BATCH} keys | × Promise.all |
|---|---|---:|---:|---:|---:|---:|
${batchTable}

The Redis and memcached \`getMany\` rows (one \`MGET\` or multi-get) are not part of this file.
${redisUp ? `\nAfter the run, the beaker-ts namespaces were cleared and ${formatNumber(leftovers)} other keys of this run (BentoCache's entries and tag keys, beaker-ts's tag tokens) were removed from database 5.\n` : ''}`;
const out = fileURLToPath(new URL('./results/features.md', import.meta.url));
writeFileSync(out, report);
console.log(report);
console.log(`written to ${out}`);
process.exit(0);
