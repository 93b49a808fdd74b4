/**
 * The caching benchmark: `npm run bench` from the repository root. Writes bench/results/cache.md.
 * (a) memory get-hit CPU time per operation: beaker-ts (get, get with a createfunc, a cached function, the
 *     synchronous peek; serialized and unserialized) next to the floors (a bare lru-cache `get`, an await of it,
 *     JSON.parse of the record), BentoCache (memory L1) and cache-manager 7; each contender in its own process
 *     (bench/hit-child.ts), 7 rounds with the order rotated, the median per contender;
 * (b) file and dbm get and put rates;
 * (c) the cross-process stampede: creations of one cold key by 4 processes × 50 callers, for beaker-ts and peers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CacheManager } from '../dist/index.js';
import {
  formatNumber,
  hitChildCpuNs,
  median,
  rate,
  stampede,
  type RateRow,
  type StampedeRow,
} from './common.js';
import { CONTENDER_NAMES, RECORDS, SEQUENCE, recordSizes, type ContenderName } from './hit-data.js';

const KEYS = 10_000;
const ROUNDS = 7;
/** Timed reads per contender and round, after the warm-up: beaker-ts and the floors, then the slower peers. */
const HIT_OPS = Number(process.env.BENCH_HIT_OPS ?? 2_000_000);
const PEER_OPS = Number(process.env.BENCH_PEER_OPS ?? 400_000);
const WARMUP_OPS = Number(process.env.BENCH_WARMUP_OPS ?? 200_000);
const scratch = mkdtempSync(join(tmpdir(), 'beaker-bench-'));

/** Values of the disk rates (b): small user records, about 200 bytes of JSON each. */
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

interface HitRow {
  name: ContenderName;
  label: string;
  ops: number;
  /** CPU ns per read in each round, in the order measured. */
  rounds: number[];
  median: number;
}

const LABELS: Record<ContenderName, string> = {
  'lru.get': 'lru-cache `get` (synchronous; the floor)',
  'await lru.get': '`await` of a resolved lru-cache `get` (the floor of any async API)',
  'JSON.parse': '`JSON.parse` of the record (what a serialized cache must at least undo)',
  'beaker get, serialized': 'beaker-ts `get`, serialized (default)',
  'beaker get, unserialized': 'beaker-ts `get`, unserialized (`serialize = false`)',
  'beaker get+createfunc, serialized': 'beaker-ts `get` with a createfunc (hit), serialized',
  'beaker get+createfunc, unserialized': 'beaker-ts `get` with a createfunc (hit), unserialized',
  'beaker cached function, serialized': 'beaker-ts cached function (`manager.cache`) hit, serialized',
  'beaker cached function, unserialized': 'beaker-ts cached function (`manager.cache`) hit, unserialized',
  'beaker peek, serialized': 'beaker-ts `Cache.peek` (synchronous), serialized',
  'beaker peek, unserialized': 'beaker-ts `Cache.peek` (synchronous), unserialized',
  'BentoCache get, serialized': 'BentoCache `get` (memory L1), serialized',
  'BentoCache get, unserialized': 'BentoCache `get` (memory L1), unserialized',
  'BentoCache getOrSet, serialized': 'BentoCache `getOrSet` (hit), serialized',
  'BentoCache getOrSet, unserialized': 'BentoCache `getOrSet` (hit), unserialized',
  'cache-manager 7 get': 'cache-manager 7 `get` (keyv memory)',
  'cache-manager 7 wrap': 'cache-manager 7 `wrap` (hit)',
};

const isPeer = (name: ContenderName): boolean =>
  name.startsWith('BentoCache') || name.startsWith('cache-manager');

/** One contender in a process of its own; the child prints its CPU ns per read. */
function measureHit(name: ContenderName): Promise<number> {
  return hitChildCpuNs(name, isPeer(name) ? PEER_OPS : HIT_OPS, WARMUP_OPS);
}

/** Every contender once per round, one process at a time, the order rotated by one each round. */
async function memoryGetHits(): Promise<HitRow[]> {
  const rounds = new Map<ContenderName, number[]>(CONTENDER_NAMES.map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round += 1) {
    const shift = round % CONTENDER_NAMES.length;
    const sequence = [...CONTENDER_NAMES.slice(shift), ...CONTENDER_NAMES.slice(0, shift)];
    for (const name of sequence) rounds.get(name)?.push(await measureHit(name));
    console.log(`  round ${round + 1}/${ROUNDS} done`);
  }
  return CONTENDER_NAMES.map((name) => {
    const measured = rounds.get(name) ?? [];
    return {
      name,
      label: LABELS[name],
      ops: isPeer(name) ? PEER_OPS : HIT_OPS,
      rounds: measured,
      median: median(measured),
    };
  });
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

const nsOf = (name: ContenderName): number => memory.find((row) => row.name === name)?.median ?? NaN;
const lruFloor = nsOf('lru.get');
const awaitFloor = nsOf('await lru.get');
const parseFloor = nsOf('JSON.parse');
const sizes = recordSizes();
/** A target: `name`'s median over the floor's, against the highest ratio allowed. */
const check = (label: string, name: ContenderName, floorName: ContenderName, limit: number): string => {
  const ratio = nsOf(name) / nsOf(floorName);
  return `- ${label}: ${name} ${formatNumber(nsOf(name))} ns / ${floorName} ${formatNumber(nsOf(floorName))} ns = **${formatNumber(ratio, 2)}×** (≤ ${formatNumber(limit, 1)}×): **${ratio <= limit ? 'pass' : 'FAIL'}**`;
};
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const report = `# Caching benchmark

Measured with \`${command}\` on ${started.toISOString()}.
Node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} × ${cpu}, ${formatNumber(totalmem() / 2 ** 30, 1)} GiB.
These figures are for comparing libraries in one run on one machine and for catching regressions, not absolute speeds.

## (a) Memory: get of a present key (${RECORDS.toLocaleString('en-US')} distinct pre-generated records, random order)

Records of ${formatNumber(sizes.min)}–${formatNumber(sizes.max)} bytes of JSON (mean ${formatNumber(sizes.mean)}); every contender reads
the same pre-generated pseudo-random sequence of ${SEQUENCE.toLocaleString('en-US')} keys over all ${RECORDS.toLocaleString('en-US')} records.
Each contender runs alone in a process of its own (bench/hit-child.ts, against the built package in dist/): it fills
its store, checks a read, makes ${WARMUP_OPS.toLocaleString('en-US')} warm-up reads, then times a fixed number of reads
(${HIT_OPS.toLocaleString('en-US')} for beaker-ts and the floors, ${PEER_OPS.toLocaleString('en-US')} for the peers) with
\`process.cpuUsage\` (user + system CPU of the process, so the garbage collector's threads count); a read that misses
or creates fails the run. ${ROUNDS} rounds, one process at a time, the contenders' order rotated by one each round;
the table gives each contender's median round. "Serialized" stores copies (a value read cannot change the cache);
"unserialized" stores the objects themselves. The floors: lru-cache's synchronous \`get\`; \`await\` of a promise
resolved with it (what any async API costs at least); \`JSON.parse\` of the record's text (what a cache that keeps
text must at least undo on a hit).

| contender | CPU ns/op (median) | min–max of ${ROUNDS} rounds | × sync lru.get | × await floor | × JSON.parse floor |
|---|---:|---:|---:|---:|---:|
${memory.map((row) => `| ${row.label} | ${formatNumber(row.median)} | ${formatNumber(Math.min(...row.rounds))}–${formatNumber(Math.max(...row.rounds))} | ${formatNumber(row.median / lruFloor, 2)} | ${formatNumber(row.median / awaitFloor, 2)} | ${formatNumber(row.median / parseFloor, 2)} |`).join('\n')}

Targets (ratios of medians in this run; reported, not asserted):

${check('unserialized hit ≤ 1.5× the await floor', 'beaker get, unserialized', 'await lru.get', 1.5)}
${check('serialized hit ≤ 1.0× the JSON.parse floor', 'beaker get, serialized', 'JSON.parse', 1.0)}
${check('sync read ≤ 2× sync lru.get', 'beaker peek, unserialized', 'lru.get', 2)}

The same ratios for the other ways to a hit, for reference:

${check('get with a createfunc, unserialized', 'beaker get+createfunc, unserialized', 'await lru.get', 1.5)}
${check('get with a createfunc, serialized', 'beaker get+createfunc, serialized', 'JSON.parse', 1.0)}
${check('cached function, unserialized', 'beaker cached function, unserialized', 'await lru.get', 1.5)}
${check('cached function, serialized', 'beaker cached function, serialized', 'JSON.parse', 1.0)}
${check('peek, serialized', 'beaker peek, serialized', 'JSON.parse', 1.0)}

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
