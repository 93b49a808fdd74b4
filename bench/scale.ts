/**
 * The scale benchmark: part of `npm run bench` (or `npm run bench:scale`) from the repository root, run under an
 * open-file limit of 256 (`ulimit -n 256`). Writes bench/results/scale.md.
 * For the memory and file back-ends, with a namespace of N entries (1,000 and 100,000; half of them expiring):
 * (a) the time of `keys()` and `clear()` of a 10-entry namespace beside it, `keys()` of the big namespace (through
 *     the cache, which reads every listed entry again to keep only the fresh ones, and on the back-end alone),
 *     `prune()` once half the entries have expired (an injected clock moved on), `clear()` of the big namespace;
 * (b) get (hit) and put rates on the big namespace, sequential and 64 in flight;
 * (c) the suite's scale test (test/backends/file-scale.test.ts) at 100,000 entries, under the same limit.
 * Nothing here is a timed assertion: a step that fails (EMFILE, say) is written down as failed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CacheManager, type Cache } from '../dist/index.js';
import type { AnyBackend, BackendContext } from '../dist/backends/index.js';
import { fileDescriptor } from '../dist/backends/file/descriptor.js';
import { memoryDescriptor } from '../dist/backends/memory/descriptor.js';
import { formatNumber, rate } from './common.js';

const SIZES = (process.env.BENCH_SCALE_SIZES ?? '1000,100000').split(',').map(Number);
const SUITE_ENTRIES = Number(process.env.BENCH_SCALE_SUITE_ENTRIES ?? 100_000);
const SMALL = 10;
/** Operations of each rate row. */
const RATE_OPS = { memory: 200_000, file: 4000 } as const;
const FILL_IN_FLIGHT = 64;
/** Rounds of each rate row (the median is reported). */
const RATE_ROUNDS = 3;
const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'beaker-bench-scale-'));

/** A small user record, about 190 bytes of JSON. */
const record = (index: number): Record<string, unknown> => ({
  id: index,
  name: `User number ${String(index)}`,
  email: `user${String(index)}@example.com`,
  tags: ['alpha', 'beta', `group-${String(index % 7)}`],
  score: index * 1.5,
  active: index % 2 === 0,
  createdAt: new Date(1_700_000_000_000 + index * 1000).toISOString(),
});
const keyOf = (index: number): string => `user:${String(index)}`;
/** Even entries are fresh for 1 s (kept 2 s with the default grace), odd ones never expire. */
const expiryOf = (index: number): number | null => (index % 2 === 0 ? 1 : null);

interface Step {
  backend: string;
  entries: number;
  step: string;
  ms: number | undefined;
  /** The most files this process had open while the step ran (sampled every few ms), when the system tells. */
  peakOpenFiles: number | undefined;
  /** What the step returned (a count), or why it failed. */
  outcome: string;
}

interface RateStep {
  backend: string;
  entries: number;
  name: string;
  ops: number;
  opsPerSecond: number | undefined;
  outcome: string;
}

function errorText(error: unknown): string {
  // The codes along the cause chain: a back-end error wraps the system's (EMFILE, say).
  const codes: string[] = [];
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== undefined) codes.push(code);
  }
  const message = error instanceof Error ? error.message : String(error);
  return `failed: ${codes.join(' ← ')}: ${message}`.slice(0, 200);
}

/** The number of files this process has open (Linux: /proc/self/fd), or undefined elsewhere. */
function openFiles(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

/**
 * Waits until the process's open files are back to what they were before a step: a call that rejected on its first
 * failure (Cache.keys() on EMFILE) leaves reads in flight, which would fail the next step's reads too.
 */
async function settle(baseline: number | undefined): Promise<void> {
  if (baseline === undefined) return;
  let quiet = 0;
  for (let waited = 0; waited < 60_000 && quiet < 20; waited += 50) {
    quiet = (openFiles() ?? 0) <= baseline + 8 ? quiet + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Times `work`; its result (a count or a list) is the outcome. A failure is recorded, not thrown. */
async function timed(
  steps: Step[],
  backend: string,
  entries: number,
  step: string,
  work: () => Promise<unknown>,
): Promise<void> {
  const baseline = openFiles();
  let peak = baseline;
  const sampler = setInterval(() => {
    const now = openFiles();
    if (now !== undefined && (peak === undefined || now > peak)) peak = now;
  }, 2);
  const started = performance.now();
  try {
    const result = await work();
    const ms = performance.now() - started;
    const outcome = Array.isArray(result)
      ? `${formatNumber(result.length)} keys`
      : typeof result === 'number'
        ? `${formatNumber(result)} removed`
        : 'done';
    steps.push({ backend, entries, step, ms, peakOpenFiles: peak, outcome });
  } catch (error) {
    const ms = performance.now() - started;
    await settle(baseline);
    steps.push({ backend, entries, step, ms, peakOpenFiles: peak, outcome: errorText(error) });
  } finally {
    clearInterval(sampler);
  }
  console.log(`  ${backend} ${formatNumber(entries)}: ${step} ${steps.at(-1)?.outcome ?? ''}`);
}

async function rated(
  rates: RateStep[],
  backend: string,
  entries: number,
  name: string,
  ops: number,
  inFlight: number,
  operation: (index: number) => Promise<unknown>,
  mustHit = false,
): Promise<void> {
  let misses = 0;
  const counted = async (index: number): Promise<void> => {
    if ((await operation(index)) === undefined && mustHit) misses += 1;
  };
  try {
    const measured: number[] = [];
    for (let round = 0; round < RATE_ROUNDS; round += 1) {
      measured.push((await rate(name, ops, inFlight, counted)).opsPerSecond);
    }
    const opsPerSecond = [...measured].sort((a, b) => a - b)[RATE_ROUNDS >> 1];
    const outcome = misses === 0 ? 'ok' : `${formatNumber(misses)} misses`;
    rates.push({ backend, entries, name, ops, opsPerSecond, outcome });
  } catch (error) {
    rates.push({ backend, entries, name, ops, opsPerSecond: undefined, outcome: errorText(error) });
  }
}

/** A pseudo-random key index below `entries` for the `index`th operation (a fixed multiplicative scramble). */
const pick = (index: number, entries: number): number => (Math.imul(index, 2_654_435_761) >>> 0) % entries;

/** Puts `count` entries into `cache`, `inFlight` at a time; with `expiring`, the even ones expire. */
async function fill(cache: Cache, count: number, inFlight: number, expiring: boolean): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const index = next;
        next += 1;
        await cache.put(keyOf(index), record(index), { expiretime: expiring ? expiryOf(index) : null });
      }
    }),
  );
}

/** The back-end alone, opened on the same store as the cache (file) or filled the same way (memory). */
async function rawBackend(
  type: 'memory' | 'file',
  dataDir: string,
  context: BackendContext,
  entries: number,
): Promise<AnyBackend> {
  if (type === 'file') return fileDescriptor.create({ data_dir: dataDir }, context);
  const backend = await memoryDescriptor.create({}, context);
  for (let index = 0; index < SMALL; index += 1)
    await backend.set('small', keyOf(index), record(index) as never);
  for (let index = 0; index < entries; index += 1) {
    await backend.set('big', keyOf(index), record(index) as never, {
      ttlMs: index % 2 === 0 ? 2000 : undefined,
    });
  }
  return backend;
}

async function scale(
  type: 'memory' | 'file',
  entries: number,
  steps: Step[],
  rates: RateStep[],
): Promise<void> {
  const dir = mkdtempSync(join(scratch, `${type}-${String(entries)}-`));
  const dataDir = join(dir, 'data');
  let now = Date.now();
  const clock = (): number => now;
  const manager = new CacheManager(
    type === 'file' ? { type, data_dir: dataDir, lock_dir: join(dir, 'lock'), clock } : { type, clock },
  );
  const big = manager.getCache('big');
  const small = manager.getCache('small');
  await timed(steps, type, entries, `fill: ${formatNumber(entries)} puts, ${FILL_IN_FLIGHT} in flight`, () =>
    fill(big, entries, FILL_IN_FLIGHT, true),
  );
  await fill(small, SMALL, 1, false);
  const context: BackendContext = { clock, report: () => undefined };
  const raw = await rawBackend(type, dataDir, context, entries);

  await timed(steps, type, entries, `small namespace (${SMALL}): Cache.keys()`, () => small.keys());
  await timed(steps, type, entries, `small namespace (${SMALL}): back-end keys()`, () => raw.keys('small'));
  await timed(steps, type, entries, 'big namespace: back-end keys()', () => raw.keys('big'));
  await timed(steps, type, entries, 'big namespace: Cache.keys()', () => big.keys());

  const ops = RATE_OPS[type];
  await rated(
    rates,
    type,
    entries,
    'get (hit), sequential',
    ops,
    1,
    (index) => big.get(keyOf(pick(index, entries))),
    true,
  );
  await rated(
    rates,
    type,
    entries,
    'get (hit), 64 in flight',
    ops,
    64,
    (index) => big.get(keyOf(pick(index, entries))),
    true,
  );
  await rated(rates, type, entries, 'put, sequential', ops, 1, (index) => {
    const key = pick(index, entries);
    return big.put(keyOf(key), record(key), { expiretime: expiryOf(key) });
  });
  await rated(rates, type, entries, 'put, 64 in flight', ops, 64, (index) => {
    const key = pick(index, entries);
    return big.put(keyOf(key), record(key), { expiretime: expiryOf(key) });
  });

  // Every even entry is now past its store TTL (2 s): prune() removes half of the big namespace.
  now += 10_000;
  await timed(steps, type, entries, 'prune(), half of the entries expired (CacheManager.prune)', () =>
    manager.prune(),
  );
  if (type === 'memory') {
    await timed(
      steps,
      type,
      entries,
      'prune(), half expired: back-end alone',
      async () => (await raw.prune?.()) ?? 0,
    );
  }
  await timed(steps, type, entries, 'big namespace after prune: back-end keys()', () => raw.keys('big'));
  await timed(steps, type, entries, `small namespace (${SMALL}): Cache.clear()`, () => small.clear());
  await timed(steps, type, entries, 'big namespace: Cache.clear()', () => big.clear());
  await timed(steps, type, entries, 'close() (waits for the cleared directories’ removal)', async () => {
    await manager.close();
    await raw.close();
  });
  rmSync(dir, { recursive: true, force: true });
}

/** The suite's scale test at SUITE_ENTRIES entries, under this process's open-file limit. */
async function suiteScaleTest(): Promise<{ passed: boolean; seconds: number; tail: string }> {
  const started = performance.now();
  const root = fileURLToPath(new URL('..', import.meta.url));
  try {
    const { stdout } = await run('npx', ['vitest', 'run', 'test/backends/file-scale.test.ts'], {
      cwd: root,
      env: { ...process.env, BEAKER_FILE_SCALE_ENTRIES: String(SUITE_ENTRIES) },
      maxBuffer: 16 << 20,
    });
    return { passed: true, seconds: (performance.now() - started) / 1000, tail: lastLines(stdout) };
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    return {
      passed: false,
      seconds: (performance.now() - started) / 1000,
      tail: lastLines(`${stdout}\n${stderr}`),
    };
  }
}

function lastLines(text: string): string {
  // Without the terminal's colour codes.
  const plain = text.replace(new RegExp(String.fromCharCode(27) + '\\[[0-9;]*m', 'g'), '');
  return plain
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '')
    .slice(-8)
    .join('\n');
}

async function openFileLimit(): Promise<string> {
  const { stdout } = await run('bash', ['-c', 'ulimit -n']);
  return stdout.trim();
}

const command = 'bench/scale.ts';
const started = new Date();
const limit = await openFileLimit();
console.log(`scale rows (open-file limit ${limit})...`);
const steps: Step[] = [];
const rates: RateStep[] = [];
const sectionSeconds: Record<string, number> = {};
for (const type of ['memory', 'file'] as const) {
  for (const entries of SIZES) {
    const sectionStarted = performance.now();
    await scale(type, entries, steps, rates);
    sectionSeconds[`${type} ${formatNumber(entries)}`] = (performance.now() - sectionStarted) / 1000;
  }
}
console.log(`the suite's file scale test at ${formatNumber(SUITE_ENTRIES)} entries...`);
const suite = await suiteScaleTest();
rmSync(scratch, { recursive: true, force: true });
const totalSeconds = (Date.now() - started.getTime()) / 1000;

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const msText = (ms: number | undefined): string =>
  ms === undefined ? '—' : ms < 10 ? formatNumber(ms, 2) : formatNumber(ms);
const report = `# Scale benchmark: memory and file back-ends at ${SIZES.map((size) => formatNumber(size)).join(' and ')} entries

Measured with \`${command}\` (also part of \`npm run bench\`) on ${started.toISOString()}, in ${formatNumber(totalSeconds)} s.
Node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} × ${cpu}, ${formatNumber(totalmem() / 2 ** 30, 1)} GiB.
Open-file limit of the bench process and of everything it starts: **${limit}** (\`ulimit -n\`).
Timings of single calls, one run; for spotting a step that grows with the whole keyspace, not for absolute speeds.

Each back-end holds a namespace \`big\` of N entries (~190-byte records, put 64 in flight through a cache) and a namespace
\`small\` of ${SMALL}. Half of the big entries (the even ones) are fresh for 1 s and kept 2 s; the clock is injected
(\`CacheManager({ clock })\`, and the back-end context for the back-end alone) and moved on 10 s before \`prune()\`.
"Cache.keys()" is the public call (it lists, then reads each listed entry again to keep the fresh ones); "back-end
keys()" is the store's own listing, on a second instance opened on the same directory (file) or filled the same way
(memory). "Peak open files" is the most descriptors the bench process held during the step (\`/proc/self/fd\`, sampled
every 2 ms; the process holds some 28 at rest). A failed step is written down with its error and the time until it
rejected, not thrown; the bench then waits for the reads it left in flight to finish (its peak includes that wait)
before the next step. Each rate is the median of ${RATE_ROUNDS} rounds; a get that misses is counted.

## (a) keys, prune and clear

| back-end | N | step | ms | peak open files | outcome |
|---|---:|---|---:|---:|---|
${steps.map((row) => `| ${row.backend} | ${formatNumber(row.entries)} | ${row.step} | ${msText(row.ms)} | ${row.outcome.includes('EMFILE') ? `${limit} (the limit)` : row.peakOpenFiles === undefined ? 'n/a' : formatNumber(row.peakOpenFiles)} | ${row.outcome} |`).join('\n')}

## (b) get and put rates on the big namespace (keys drawn over all N, pseudo-random)

| back-end | N | operation | ops | ops/s | outcome |
|---|---:|---|---:|---:|---|
${rates.map((row) => `| ${row.backend} | ${formatNumber(row.entries)} | ${row.name} | ${formatNumber(row.ops)} | ${row.opsPerSecond === undefined ? '—' : formatNumber(row.opsPerSecond)} | ${row.outcome} |`).join('\n')}

Time per part: ${Object.entries(sectionSeconds)
  .map(([name, seconds]) => `${name}: ${formatNumber(seconds, 1)} s`)
  .join('; ')}.

## (c) The suite's file scale test at ${formatNumber(SUITE_ENTRIES)} entries

\`BEAKER_FILE_SCALE_ENTRIES=${SUITE_ENTRIES} npx vitest run test/backends/file-scale.test.ts\`, under the open-file limit
above (the test's child process sets \`ulimit -n 256\` itself): it writes ${formatNumber(SUITE_ENTRIES)} entries to one
namespace of a file back-end (50 in flight), lists them, prunes the expired half and clears the namespace.

**${suite.passed ? 'passed' : 'FAILED'}** in ${formatNumber(suite.seconds, 1)} s (vitest included).

\`\`\`
${suite.tail}
\`\`\`
`;
const out = fileURLToPath(new URL('./results/scale.md', import.meta.url));
writeFileSync(out, report);
console.log(report);
console.log(`written to ${out}`);
process.exit(0);
