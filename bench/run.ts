/**
 * The caching benchmark: `npm run bench` from the repository root. Writes bench/results/cache.md.
 * (a) memory get-hit time per operation: beaker-ts next to a bare lru-cache `get`, BentoCache (memory) and
 *     cache-manager 7 (`wrap`), on pre-generated data, serialized and unserialized reported apart;
 * (b) file and dbm get and put rates;
 * (c) the cross-process stampede: creations of one cold key by 4 processes × 50 callers, for beaker-ts and peers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { createCache } from 'cache-manager';
import { LRUCache } from 'lru-cache';
import { Bench } from 'tinybench';
import { CacheManager } from '../dist/index.js';
import { formatNumber, rate, stampede, type RateRow, type StampedeRow } from './common.js';

const KEYS = 10_000;
const BENCH_TIME_MS = Number(process.env.BENCH_TIME_MS ?? 1500);
const scratch = mkdtempSync(join(tmpdir(), 'beaker-bench-'));

/** Pre-generated values: small user records, about 200 bytes of JSON each. */
const keys = Array.from({ length: KEYS }, (_unused, index) => `user:${index}`);
const values = keys.map((key, index) => ({
  id: index,
  key,
  name: `User number ${index}`,
  email: `user${index}@example.com`,
  tags: ['alpha', 'beta', String(index % 7)],
  score: index * 1.5,
  active: index % 2 === 0,
  createdAt: new Date(1_700_000_000_000 + index * 1000).toISOString(),
}));
/** A pre-generated random order of key indexes, so that every library reads the same sequence. */
const order = Array.from({ length: 1 << 16 }, () => Math.floor(Math.random() * KEYS));
const mask = order.length - 1;

interface Row {
  name: string;
  nsPerOp: number;
  p99Ns: number;
  opsPerSecond: number;
}

function rowsOf(bench: Bench): Row[] {
  return bench.tasks.map((task) => {
    const result = task.result as
      { latency?: { mean: number; p99?: number }; throughput?: { mean: number } } | undefined;
    const mean = result?.latency?.mean ?? NaN;
    return {
      name: task.name,
      nsPerOp: mean * 1e6,
      p99Ns: (result?.latency?.p99 ?? NaN) * 1e6,
      opsPerSecond: result?.throughput?.mean ?? 1000 / mean,
    };
  });
}

async function memoryGetHits(): Promise<Row[]> {
  const lru = new LRUCache<string, object>({ max: KEYS * 2 });
  const serialized = new CacheManager({ type: 'memory' }).getCache('bench');
  const unserialized = new CacheManager({ type: 'memory', serialize: false }).getCache('bench');
  const bentoSerialized = new BentoCache({
    default: 'memory',
    stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: KEYS * 2, serialize: true })) },
  });
  const bentoUnserialized = new BentoCache({
    default: 'memory',
    stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: KEYS * 2, serialize: false })) },
  });
  const cacheManager = createCache();
  for (const [index, key] of keys.entries()) {
    const value = values[index] as object;
    lru.set(key, value);
    await serialized.put(key, value);
    await unserialized.put(key, value);
    await bentoSerialized.set({ key, value, ttl: '1h' });
    await bentoUnserialized.set({ key, value, ttl: '1h' });
    await cacheManager.set(key, value, 3_600_000);
  }
  const never = (): Promise<never> => Promise.reject(new Error('a hit must not create'));
  let i = 0;
  const next = (): string => keys[order[(i += 1) & mask] as number] as string;
  const bench = new Bench({ time: BENCH_TIME_MS, warmupTime: 300 });
  bench
    .add('lru-cache get (bare, synchronous; the floor)', () => {
      lru.get(next());
    })
    .add('beaker-ts memory get, serialized (default)', async () => {
      await serialized.get(next());
    })
    .add('BentoCache memory get, serialized', async () => {
      await bentoSerialized.get({ key: next() });
    })
    .add('beaker-ts memory get, unserialized (serialize = false)', async () => {
      await unserialized.get(next());
    })
    .add('BentoCache memory get, unserialized', async () => {
      await bentoUnserialized.get({ key: next() });
    })
    .add('cache-manager 7 get (keyv memory)', async () => {
      await cacheManager.get(next());
    })
    .add('beaker-ts get with createfunc (hit), serialized', async () => {
      await serialized.get(next(), { createfunc: never });
    })
    .add('BentoCache getOrSet (hit), serialized', async () => {
      await bentoSerialized.getOrSet({ key: next(), factory: never, ttl: '1h' });
    })
    .add('beaker-ts get with createfunc (hit), unserialized', async () => {
      await unserialized.get(next(), { createfunc: never });
    })
    .add('BentoCache getOrSet (hit), unserialized', async () => {
      await bentoUnserialized.getOrSet({ key: next(), factory: never, ttl: '1h' });
    })
    .add('cache-manager 7 wrap (hit)', async () => {
      await cacheManager.wrap(next(), never, 3_600_000);
    });
  await bench.run();
  await Promise.all([
    bentoSerialized.disconnect(),
    bentoUnserialized.disconnect(),
    cacheManager.disconnect(),
  ]);
  return rowsOf(bench);
}

async function diskRates(): Promise<RateRow[]> {
  const rows: RateRow[] = [];
  for (const type of ['file', 'dbm'] as const) {
    const dir = join(scratch, `rates-${type}`);
    const manager = new CacheManager({ type, data_dir: join(dir, 'data'), lock_dir: join(dir, 'lock') });
    const cache = manager.getCache('bench');
    const value = (index: number): object => values[index] as object;
    const count = type === 'file' ? 4000 : 20_000;
    rows.push(
      await rate(`${type} put, sequential`, count, 1, (index) =>
        cache.put(keys[index % KEYS] as string, value(index % KEYS)),
      ),
    );
    rows.push(
      await rate(`${type} get (hit), sequential`, count, 1, (index) =>
        cache.get(keys[index % KEYS] as string),
      ),
    );
    rows.push(
      await rate(`${type} put, 64 in flight`, count, 64, (index) =>
        cache.put(keys[index % KEYS] as string, value(index % KEYS)),
      ),
    );
    rows.push(
      await rate(`${type} get (hit), 64 in flight`, count, 64, (index) =>
        cache.get(keys[index % KEYS] as string),
      ),
    );
    await manager.close();
  }
  return rows;
}

const STAMPEDE_LIBRARIES = [
  'beaker-ts file',
  'beaker-ts dbm',
  'BentoCache (file L2)',
  'cache-manager 7 (keyv-file)',
];

const command = 'npm run bench';
const started = new Date();
console.log('(a) memory get hits...');
const memory = await memoryGetHits();
console.log('(b) file and dbm rates...');
const disk = await diskRates();
console.log('(c) cross-process stampede...');
const stampedes: StampedeRow[] = [];
for (const library of STAMPEDE_LIBRARIES) stampedes.push(await stampede(library, scratch));
rmSync(scratch, { recursive: true, force: true });

const floor = memory[0]?.nsPerOp ?? NaN;
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const report = `# Caching benchmark

Measured with \`${command}\` on ${started.toISOString()}.
Node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} × ${cpu}, ${formatNumber(totalmem() / 2 ** 30, 1)} GiB.
These figures are for comparing libraries in one run on one machine and for catching regressions, not absolute speeds.

## (a) Memory: get of a present key (${KEYS.toLocaleString('en-US')} pre-generated records of ~200 bytes, random order)

Every library reads the same pre-generated sequence of keys. "Serialized" stores copies (a value read cannot change
the cache); "unserialized" stores the objects themselves. tinybench, ${BENCH_TIME_MS} ms per row after a warm-up.

| operation | ns/op (mean) | p99 ns | ops/s | × bare lru-cache get |
|---|---:|---:|---:|---:|
${memory.map((row) => `| ${row.name} | ${formatNumber(row.nsPerOp)} | ${formatNumber(row.p99Ns)} | ${formatNumber(row.opsPerSecond)} | ${formatNumber(row.nsPerOp / floor, 1)} |`).join('\n')}

## (b) On-disk back-ends: put and get rates (beaker-ts)

| operation | ops | ops/s |
|---|---:|---:|
${disk.map((row) => `| ${row.name} | ${formatNumber(row.ops)} | ${formatNumber(row.opsPerSecond)} |`).join('\n')}

## (c) Cross-process stampede: one cold key, 4 processes × 50 concurrent callers, a 300 ms creation

Each process opens the same shared store; a creation appends a line to a shared file, which is counted after the run.
beaker-ts coordinates creators through file locks under \`lock_dir\`; the peers coalesce within one process only.

| library and store | callers | creations | distinct values returned |
|---|---:|---:|---:|
${stampedes.map((row) => `| ${row.library} | ${row.callers} | ${row.creations} | ${row.distinctValues} |`).join('\n')}
`;
const out = fileURLToPath(new URL('./results/cache.md', import.meta.url));
writeFileSync(out, report);
console.log(report);
console.log(`written to ${out}`);
process.exit(0);
