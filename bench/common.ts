/**
 * What the benchmark scripts share: a rate meter, the cross-process stampede, the memory hit child, medians and
 * number formatting.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export interface RateRow {
  name: string;
  opsPerSecond: number;
  ops: number;
}

/** Ops per second of `operation` over `count` calls, `inFlight` at a time; `operation` gets the call's number. */
export async function rate(
  name: string,
  count: number,
  inFlight: number,
  operation: (index: number) => Promise<unknown>,
): Promise<RateRow> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await operation((next += 1));
    }),
  );
  return { name, ops: count, opsPerSecond: count / ((performance.now() - started) / 1000) };
}

export interface StampedeRow {
  library: string;
  creations: number;
  callers: number;
  distinctValues: number;
}

/**
 * One cold key, `processes` OS processes × `callers` concurrent get-or-create calls, a `createMs` creation:
 * how many creations ran (1 is perfect) and how many distinct values the callers got.
 */
export async function stampede(
  library: string,
  scratch: string,
  extra: Record<string, unknown> = {},
  processes = 4,
  callers = 50,
  createMs = 300,
): Promise<StampedeRow> {
  const dir = mkdtempSync(join(scratch, 'stampede-'));
  const countFile = join(dir, 'count');
  writeFileSync(countFile, '');
  const child = fileURLToPath(new URL('./stampede-child.ts', import.meta.url));
  const task = JSON.stringify({ library, dir, countFile, callers, createMs, ...extra });
  const workers = Array.from({ length: processes }, () => {
    const worker = spawn(process.execPath, ['--import', 'tsx', child, task], { stdio: 'pipe' });
    let out = '';
    let err = '';
    worker.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    worker.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const ready = new Promise<void>((resolve) =>
      worker.stdout.on('data', () => out.includes('ready\n') && resolve()),
    );
    const done = new Promise<string>((resolve, reject) =>
      worker.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${library}: ${err}`)))),
    );
    return { worker, ready, done };
  });
  await Promise.all(workers.map(({ ready }) => ready));
  for (const { worker } of workers) worker.stdin.write('go\n');
  const outputs = await Promise.all(workers.map(({ done }) => done));
  const received = outputs.flatMap(
    (output) => JSON.parse(output.trim().split('\n').at(-1) ?? '[]') as unknown[],
  );
  return {
    library,
    callers: processes * callers,
    creations: readFileSync(countFile, 'utf8').split('\n').filter(Boolean).length,
    distinctValues: new Set(received.map((value) => JSON.stringify(value))).size,
  };
}

export function formatNumber(value: number, digits = 0): string {
  return Number.isFinite(value)
    ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a';
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The `q` quantile of `values` (0 < q ≤ 1), by nearest rank: p99 is `quantile(values, 0.99)`. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

/** `list` rotated left by `round`, so that each round starts with a different entry. */
export function rotated<T>(list: readonly T[], round: number): T[] {
  const shift = round % Math.max(1, list.length);
  return [...list.slice(shift), ...list.slice(0, shift)];
}

const execFileAsync = promisify(execFile);

/**
 * One contender of the memory hit benchmark (bench/hit-child.ts) in a process of its own: its CPU ns per read over
 * `ops` timed reads after `warmup` reads.
 */
export async function hitChildCpuNs(name: string, ops: number, warmup: number): Promise<number> {
  const child = fileURLToPath(new URL('./hit-child.ts', import.meta.url));
  const { stdout } = await execFileAsync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', child, name, String(ops), String(warmup)],
    { maxBuffer: 1 << 20 },
  );
  return (JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { cpuNsPerOp: number }).cpuNsPerOp;
}
