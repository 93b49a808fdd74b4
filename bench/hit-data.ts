/**
 * The data of the memory hit benchmark, the same in every process: 10,000 distinct records of about 190 bytes of
 * JSON, and one pseudo-random order of reads over them (seeded, so every contender reads the same sequence).
 */

export const RECORDS = 10_000;
/** Length of the read sequence (a power of two, so that the index wraps with a mask). */
export const SEQUENCE = 1 << 16;

/** The contenders of the hit benchmark, each measured in its own process by bench/hit-child.ts. */
export const CONTENDER_NAMES = [
  'lru.get',
  'await lru.get',
  'JSON.parse',
  'beaker get, serialized',
  'beaker get, unserialized',
  'beaker get+createfunc, serialized',
  'beaker get+createfunc, unserialized',
  'beaker cached function, serialized',
  'beaker cached function, unserialized',
  'beaker peek, serialized',
  'beaker peek, unserialized',
  'BentoCache get, serialized',
  'BentoCache get, unserialized',
  'BentoCache getOrSet, serialized',
  'BentoCache getOrSet, unserialized',
  'cache-manager 7 get',
  'cache-manager 7 wrap',
] as const;
export type ContenderName = (typeof CONTENDER_NAMES)[number];

/**
 * The tagged reads of bench/features.ts, measured by the same child (bench/hit-child.ts) but not part of
 * bench/run.ts; their untagged baselines are `beaker get, serialized` and `beaker get, unserialized`.
 */
export const TAG_CONTENDER_NAMES = [
  'beaker get, 1 tag, serialized',
  'beaker get, 3 tags, serialized',
  'beaker get, 1 tag, unserialized',
  'beaker get, 3 tags, unserialized',
] as const;
export type TagContenderName = (typeof TAG_CONTENDER_NAMES)[number];

/**
 * The first `count` tags of record `index` in the tag benchmarks: its own (10,000 distinct), its group's (7) and its
 * tenant's (100), each behind `prefix`.
 */
export function tagsOf(index: number, count: number, prefix = ''): string[] {
  return [`${prefix}user:${index}`, `${prefix}group:${index % 7}`, `${prefix}tenant:${index % 100}`].slice(
    0,
    count,
  );
}

/** Every distinct tag of the records' first `count` tags. */
export function allTags(count: number, prefix = ''): string[] {
  return [...new Set(keys.flatMap((_key, index) => tagsOf(index, count, prefix)))];
}

export interface UserRecord {
  id: number;
  key: string;
  name: string;
  email: string;
  tags: string[];
  score: number;
  active: boolean;
  createdAt: string;
}

export const keys: readonly string[] = Array.from({ length: RECORDS }, (_unused, index) => `user:${index}`);

export const records: readonly UserRecord[] = keys.map((key, index) => ({
  id: index,
  key,
  name: `User number ${index}`,
  email: `user${index}@example.com`,
  tags: ['alpha', 'beta', `group-${index % 7}`],
  score: index * 1.5,
  active: index % 2 === 0,
  createdAt: new Date(1_700_000_000_000 + index * 1000).toISOString(),
}));

/** Each record's JSON text: what a serialized cache must at least parse on a hit. */
export const texts: readonly string[] = records.map((record) => JSON.stringify(record));

/** mulberry32: a small seeded generator, so that the sequence is the same in every process. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const random = generator(20_261_201);
/** The record indexes in the order they are read. */
export const order: Int32Array = Int32Array.from({ length: SEQUENCE }, () => Math.floor(random() * RECORDS));

/** Mean and range of the records' JSON sizes, in bytes. */
export function recordSizes(): { mean: number; min: number; max: number } {
  const sizes = texts.map((text) => Buffer.byteLength(text));
  return {
    mean: sizes.reduce((sum, size) => sum + size, 0) / sizes.length,
    min: Math.min(...sizes),
    max: Math.max(...sizes),
  };
}
