/**
 * One contender of the memory hit benchmark (bench/run.ts section (a), and the tagged reads of bench/features.ts),
 * alone in its process:
 * `node --expose-gc --import tsx bench/hit-child.ts <contender> <ops> <warm-up ops>`.
 * Fills the contender's store with the 10,000 pre-generated records, checks that a read returns the right record,
 * runs the warm-up, then times `ops` reads of the pre-generated key sequence and prints one JSON line: the CPU time
 * per operation (process.cpuUsage, user + system, so it includes the GC's threads) and the wall time per operation.
 * Every read must be a hit: a contender that creates or misses during the timed run fails.
 */
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { createCache } from 'cache-manager';
import { LRUCache } from 'lru-cache';
import { CacheManager } from '../dist/index.js';
import {
  RECORDS,
  SEQUENCE,
  allTags,
  keys,
  order,
  records,
  tagsOf,
  texts,
  type ContenderName,
  type TagContenderName,
  type UserRecord,
} from './hit-data.js';

/** A read of record `index` under `key`; synchronous contenders return the record, asynchronous ones a promise. */
type Read = (key: string, index: number) => UserRecord | undefined | Promise<UserRecord | undefined>;

interface Prepared {
  read: Read;
  /** The reads are synchronous (no await in the loop). */
  sync: boolean;
  /** Misses or creations so far, to check that the timed run made none. */
  misses: () => number;
  close: () => Promise<void>;
}

const never = (): Promise<never> => Promise.reject(new Error('a hit must not create'));
const noMisses = (): number => 0;
const nothing = (): Promise<void> => Promise.resolve();

function lru(): LRUCache<string, UserRecord> {
  const cache = new LRUCache<string, UserRecord>({ max: RECORDS * 2 });
  for (const [index, key] of keys.entries()) cache.set(key, records[index] as UserRecord);
  return cache;
}

/**
 * beaker-ts on the memory store. With `tagCount`, each record is put with its first `tagCount` tags
 * ({@link tagsOf}), every one of which was invalidated once before (so that its tokens exist).
 */
async function beaker(
  serialize: boolean,
  kind: 'get' | 'createfunc' | 'peek',
  tagCount = 0,
): Promise<Prepared> {
  const manager = new CacheManager(serialize ? { type: 'memory' } : { type: 'memory', serialize: false });
  const cache = manager.getCache<UserRecord>('bench');
  await cache.open();
  if (tagCount > 0) await manager.deleteByTag(allTags(tagCount));
  for (const [index, key] of keys.entries()) {
    await cache.put(key, records[index] as UserRecord, tagCount > 0 ? { tags: tagsOf(index, tagCount) } : {});
  }
  const misses = (): number => cache.stats().misses + cache.stats().creations;
  const close = (): Promise<void> => manager.close();
  if (kind === 'peek') return { read: (key) => cache.peek(key), sync: true, misses, close };
  if (kind === 'createfunc') {
    return { read: (key) => cache.get(key, { createfunc: never }), sync: false, misses, close };
  }
  return { read: (key) => cache.get(key), sync: false, misses, close };
}

/** A function cached with `manager.cache(...)`, called with the record's number: its first calls fill the cache. */
async function cachedFunction(serialize: boolean): Promise<Prepared> {
  const manager = new CacheManager(serialize ? { type: 'memory' } : { type: 'memory', serialize: false });
  let calls = 0;
  const loadUser = manager.cache({ namespace: 'users' })(async function loadUser(
    id: number,
  ): Promise<UserRecord> {
    calls += 1;
    return Promise.resolve(records[id] as UserRecord);
  });
  for (let index = 0; index < RECORDS; index += 1) await loadUser(index);
  const filled = calls;
  return {
    read: (_key, index) => loadUser(index),
    sync: false,
    misses: () => calls - filled,
    close: () => manager.close(),
  };
}

async function bento(serialize: boolean, kind: 'get' | 'getOrSet'): Promise<Prepared> {
  const cache = new BentoCache({
    default: 'memory',
    stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: RECORDS * 2, serialize })) },
  });
  for (const [index, key] of keys.entries()) await cache.set({ key, value: records[index], ttl: '1h' });
  const read: Read =
    kind === 'get'
      ? (key) => cache.get<UserRecord>({ key })
      : (key) => cache.getOrSet<UserRecord>({ key, factory: never, ttl: '1h' });
  return { read, sync: false, misses: noMisses, close: () => cache.disconnect() };
}

async function cacheManager(kind: 'get' | 'wrap'): Promise<Prepared> {
  const cache = createCache();
  for (const [index, key] of keys.entries()) await cache.set(key, records[index], 3_600_000);
  const read: Read =
    kind === 'get'
      ? (key) => cache.get<UserRecord>(key).then((value) => value ?? undefined)
      : (key) => cache.wrap<UserRecord>(key, never, 3_600_000);
  return { read, sync: false, misses: noMisses, close: () => cache.disconnect().then(() => undefined) };
}

/** The contenders, by the name bench/run.ts (or bench/features.ts) gives on the command line. */
const CONTENDERS: Record<ContenderName | TagContenderName, () => Promise<Prepared>> = {
  'lru.get': () => {
    const cache = lru();
    return Promise.resolve({ read: (key) => cache.get(key), sync: true, misses: noMisses, close: nothing });
  },
  'await lru.get': () => {
    const cache = lru();
    return Promise.resolve({
      read: (key) => Promise.resolve(cache.get(key)),
      sync: false,
      misses: noMisses,
      close: nothing,
    });
  },
  'JSON.parse': () =>
    Promise.resolve({
      read: (_key, index) => JSON.parse(texts[index] as string) as UserRecord,
      sync: true,
      misses: noMisses,
      close: nothing,
    }),
  'beaker get, serialized': () => beaker(true, 'get'),
  'beaker get, unserialized': () => beaker(false, 'get'),
  'beaker get+createfunc, serialized': () => beaker(true, 'createfunc'),
  'beaker get+createfunc, unserialized': () => beaker(false, 'createfunc'),
  'beaker cached function, serialized': () => cachedFunction(true),
  'beaker cached function, unserialized': () => cachedFunction(false),
  'beaker peek, serialized': () => beaker(true, 'peek'),
  'beaker peek, unserialized': () => beaker(false, 'peek'),
  'BentoCache get, serialized': () => bento(true, 'get'),
  'BentoCache get, unserialized': () => bento(false, 'get'),
  'BentoCache getOrSet, serialized': () => bento(true, 'getOrSet'),
  'BentoCache getOrSet, unserialized': () => bento(false, 'getOrSet'),
  'cache-manager 7 get': () => cacheManager('get'),
  'cache-manager 7 wrap': () => cacheManager('wrap'),
  'beaker get, 1 tag, serialized': () => beaker(true, 'get', 1),
  'beaker get, 3 tags, serialized': () => beaker(true, 'get', 3),
  'beaker get, 1 tag, unserialized': () => beaker(false, 'get', 1),
  'beaker get, 3 tags, unserialized': () => beaker(false, 'get', 3),
};

const mask = SEQUENCE - 1;

/** `count` reads from position `start` of the sequence; the sum of the records' ids keeps the reads alive. */
async function reads(prepared: Prepared, start: number, count: number): Promise<number> {
  const { read } = prepared;
  let sink = 0;
  if (prepared.sync) {
    for (let i = start; i < start + count; i += 1) {
      const index = order[i & mask] as number;
      sink += (read(keys[index] as string, index) as UserRecord).id;
    }
  } else {
    for (let i = start; i < start + count; i += 1) {
      const index = order[i & mask] as number;
      sink += ((await read(keys[index] as string, index)) as UserRecord).id;
    }
  }
  return sink;
}

async function main(): Promise<void> {
  const [name = '', opsText = '200000', warmupText = '100000'] = process.argv.slice(2);
  if (!(name in CONTENDERS)) throw new Error(`unknown contender ${name}`);
  const make = CONTENDERS[name as ContenderName | TagContenderName];
  const ops = Number(opsText);
  const warmup = Number(warmupText);
  const prepared = await make();
  for (const index of [0, 1234, RECORDS - 1]) {
    const value = await prepared.read(keys[index] as string, index);
    if (value?.id !== index || value.email !== records[index]?.email) {
      throw new Error(`${name}: record ${index} read back wrong: ${JSON.stringify(value)}`);
    }
  }
  await reads(prepared, 0, warmup);
  const before = prepared.misses();
  globalThis.gc?.();
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  const sink = await reads(prepared, warmup, ops);
  const cpu = process.cpuUsage(cpuStart);
  const wallNs = (performance.now() - wallStart) * 1e6;
  const misses = prepared.misses() - before;
  if (misses !== 0) throw new Error(`${name}: ${misses} misses or creations during the timed reads`);
  await prepared.close();
  process.stdout.write(
    `${JSON.stringify({ name, ops, cpuNsPerOp: ((cpu.user + cpu.system) * 1000) / ops, wallNsPerOp: wallNs / ops, sink })}\n`,
  );
}

await main();
process.exit(0);
