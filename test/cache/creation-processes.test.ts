/**
 * Creation across OS processes, on every back-end that processes share: 4 processes × 50 concurrent callers of one
 * key on one store, for each of
 * - `expireByTag` with `soft_timeout = 0`: every caller gets the stale value at once, one creation in all, and then
 *   every process reads the new value;
 * - `soft_timeout`: every caller gets the stale value within about the soft timeout, well before the slow creator
 *   ends, and the new value lands once;
 * - `hard_timeout` with no stale value: the one creator that hangs is aborted and its call fails with
 *   `CreationTimeoutError` at the hard timeout; the creation lock is freed, so another caller creates the value and
 *   nobody waits for the lock's 30 s;
 * - `stale_if_error` with `error_backoff`: a failing creator runs once per back-off across all processes, and
 *   every caller gets the stale value.
 * And a cold key with `lock_timeout = 1` and a creator of 100 ms is created once: the waiters of one process share
 * one wait, so they do not hand the creation lock to each other one by one once the value exists (before, 200
 * hand-overs outlasted lock_timeout and the waiters still queued created the value again, see the test).
 * One set of 4 processes (test/cache/fixtures/creation-worker.ts) serves every store in turn, each store with its own
 * manager in each process: starting processes costs more than all four scenarios of a store.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CacheManager } from '../../src/index.js';
import { processSharedStores } from '../helpers/server-stores.js';
import { describeWhenAvailable } from '../helpers/services.js';
import type {
  Answer,
  Command,
  ReadResult,
  Reply,
  WaveCommand,
  WaveResult,
} from './fixtures/creation-worker.js';

const CHILD = fileURLToPath(new URL('./fixtures/creation-worker.ts', import.meta.url));
const PROCESSES = 4;
const CALLERS = 50;
/** How long ago the expired entries were stored, and for how long they were fresh: they expired 5 s ago. */
const STORED_AGO_MS = 15_000;
const EXPIRE = 10;

const stores = await processSharedStores();

/** The commands a test sends, without the id the connection adds. */
type WithoutId<C> = C extends unknown ? Omit<C, 'id'> : never;
type Sent = WithoutId<Command>;

/** A child process and a way to send it commands and get their replies. */
interface Child {
  process: ChildProcessWithoutNullStreams;
  exited: boolean;
  send: <R>(command: Sent) => Promise<R>;
}

async function startChild(): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { stdio: 'pipe' });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  const handle: Child = {
    process: child,
    exited: false,
    send: <R>(command: Sent) => {
      if (handle.exited) return Promise.reject(new Error(`the child has exited: ${stderr}`));
      const id = (nextId += 1);
      return new Promise<R>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
        child.stdin.write(`${JSON.stringify({ ...command, id })}\n`);
      });
    },
  };
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as Reply & { ready?: boolean };
      if (message.ready === true) {
        resolve();
        return;
      }
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.error === undefined) waiter?.resolve(message.result);
      else waiter?.reject(new Error(`the child failed: ${message.error}`));
    });
    child.on('exit', (code, signal) => {
      handle.exited = true;
      const error = new Error(`the child exited with ${String(signal ?? code)}: ${stderr}`);
      reject(error);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    });
  });
  return handle;
}

/** The processes every store's scenarios run in; started again if one of them died. */
const children: Child[] = [];

async function runningChildren(): Promise<{ children: Child[]; startMs?: number }> {
  if (children.length === PROCESSES && children.every((child) => !child.exited)) return { children };
  for (const child of children.splice(0)) child.process.kill('SIGKILL');
  const started = performance.now();
  children.push(...(await Promise.all(Array.from({ length: PROCESSES }, startChild))));
  return { children, startMs: performance.now() - started };
}

afterAll(async () => {
  await Promise.all(children.map((child) => child.send({ op: 'exit' }).catch(() => undefined)));
  for (const child of children) child.process.kill('SIGKILL');
});

/** The options of the store for these tests: file locks in a directory of their own for the stores on this disk. */
function optionsFor(store: { label: string; options: Record<string, unknown> }, scratch: string) {
  const { options } = store;
  if (options.type === 'file' || options.type === 'dbm')
    return { ...options, lock_dir: join(scratch, 'locks') };
  if (options.type === 'ext:database') return { ...options, table_name: 'beaker_ts_creation_processes' };
  return options;
}

/** Every answer of a wave across the processes, and the slowest. */
function summary(results: WaveResult[]): { answers: Answer[]; slowest: number } {
  const answers = results.flatMap((result) => result.answers);
  return { answers, slowest: Math.max(...answers.map(({ ms }) => ms)) };
}

function linesOf(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

/** Each answer's value or error, counted. */
function tally(answers: Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { value, error } of answers) {
    const name = error === undefined ? `value ${String(value)}` : `error ${error}`;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/** The events of a wave across the processes, by type. */
function eventsOf(results: WaveResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const result of results) {
    for (const [type, count] of Object.entries(result.events)) counts[type] = (counts[type] ?? 0) + count;
  }
  return counts;
}

for (const store of stores) {
  describeWhenAvailable(`creation across processes: ${store.label}`, store.unavailable, () => {
    const scratch = mkdtempSync(join(tmpdir(), 'beaker-creation-processes-'));
    const options = optionsFor(store, scratch);
    const run = randomUUID().slice(0, 8);
    const namespace = `creation-processes-${run}`;
    /** A manager of this process on the store, to set each scenario up; `past` writes as if 15 s ago. */
    let manager: CacheManager;
    let past: CacheManager;
    const timings: string[] = [];
    let waves = 0;
    const send = <R>(command: Sent) => Promise.all(children.map((child) => child.send<R>(command)));

    const wave = (
      command: Omit<WaveCommand, 'op' | 'id' | 'store' | 'namespace' | 'callers' | 'countFile'>,
    ) => {
      const countFile = join(scratch, `wave-${String((waves += 1))}.count`);
      writeFileSync(countFile, '');
      const started = performance.now();
      return send<WaveResult>({
        op: 'wave',
        store: store.label,
        namespace,
        callers: CALLERS,
        countFile,
        ...command,
      }).then((results) => ({ results, countFile, wallMs: performance.now() - started }));
    };
    /** A wave in which every caller must get the stale value `old`; its slowest caller's latency is recorded. */
    const staleWave = async (scenario: string, command: Parameters<typeof wave>[0]) => {
      const { results, countFile, wallMs } = await wave(command);
      const { answers, slowest } = summary(results);
      timings.push(`${scenario}: slowest caller ${slowest.toFixed(0)} ms, wave ${wallMs.toFixed(0)} ms`);
      expect(tally(answers)).toEqual({ 'value old': PROCESSES * CALLERS });
      return { results, countFile, slowest };
    };
    /** Every process reads the new value of `key` once it lands, and it was created once, with no event. */
    const expectCreatedOnce = async (
      scenario: string,
      key: string,
      cacheOptions: Record<string, unknown>,
      countFile: string,
      results: WaveResult[],
    ) => {
      const reads = await send<ReadResult>({
        op: 'read',
        store: store.label,
        namespace,
        key,
        options: cacheOptions,
        expected: 'new',
        timeoutMs: 5000,
      });
      timings.push(
        `${scenario}: new value read after ${Math.max(...reads.map(({ ms }) => ms)).toFixed(0)} ms`,
      );
      expect(reads.map(({ value }) => value)).toEqual(Array.from({ length: PROCESSES }, () => 'new'));
      expect(linesOf(countFile)).toHaveLength(1);
      expect(eventsOf(results)).toEqual({});
    };

    beforeAll(async () => {
      manager = new CacheManager({ ...options, onEvent: () => undefined });
      past = new CacheManager({
        ...options,
        onEvent: () => undefined,
        clock: () => Date.now() - STORED_AGO_MS,
      });
      const { startMs } = await runningChildren();
      if (startMs !== undefined) timings.push(`processes started in ${startMs.toFixed(0)} ms`);
      const started = performance.now();
      await send({ op: 'open', store: store.label, options });
      timings.push(`store opened in ${(performance.now() - started).toFixed(0)} ms`);
    }, 60_000);

    afterAll(async () => {
      await send({ op: 'close', store: store.label }).catch(() => undefined);
      await manager.close();
      await past.close();
      rmSync(scratch, { recursive: true, force: true });
      console.log(`${store.label}: ${timings.join('; ')}`);
    });

    it(`after expireByTag, with soft_timeout = 0, answers ${String(PROCESSES * CALLERS)} callers with the stale value at once and creates the new one once`, async () => {
      const tag = `creation-processes-${run}`;
      const cacheOptions = { expire: 600, soft_timeout: 0 };
      // Long enough that a caller which waited for it stands out from any store's slowest read on a loaded machine.
      const createMs = 1000;
      await manager.getCache<string>(namespace, cacheOptions).put('tagged', 'old', { tags: [tag] });
      await (children[0] as Child).send({ op: 'expireByTag', store: store.label, tag });
      const { results, countFile, slowest } = await staleWave('expireByTag', {
        key: 'tagged',
        options: cacheOptions,
        tags: [tag],
        creator: 'slow',
        createMs,
        value: 'new',
      });
      // Nobody waited for the creator, the caller that runs it included.
      expect(slowest).toBeLessThan(createMs / 2);
      await expectCreatedOnce('expireByTag', 'tagged', cacheOptions, countFile, results);
    }, 30_000);

    it(`with soft_timeout = 0.2 and a creator of 1.5 s, answers ${String(PROCESSES * CALLERS)} callers with the stale value within about the soft timeout`, async () => {
      const cacheOptions = { expire: EXPIRE, soft_timeout: 0.2 };
      const createMs = 1500;
      await past.getCache<string>(namespace, { expire: EXPIRE, grace: 60 }).put('soft', 'old');
      const { results, countFile, slowest } = await staleWave('soft_timeout', {
        key: 'soft',
        options: cacheOptions,
        creator: 'slow',
        createMs,
        value: 'new',
      });
      // The caller that creates waited the soft timeout, and nobody waited much longer.
      expect(slowest).toBeGreaterThanOrEqual(190);
      expect(slowest).toBeLessThan(1000);
      await expectCreatedOnce('soft_timeout', 'soft', cacheOptions, countFile, results);
    }, 30_000);

    it('with hard_timeout = 0.5 and no stale value, aborts the creator that hangs, fails its call and frees the lock for another creator', async () => {
      const cacheOptions = { expire: 600, hard_timeout: 0.5, lock_timeout: 30 };
      const { results, countFile, wallMs } = await wave({
        key: 'hard',
        options: cacheOptions,
        creator: 'hang-first',
        createMs: 0,
        value: 'created',
        markerFile: join(scratch, 'hang.marker'),
      });
      const { answers, slowest } = summary(results);
      const runs = linesOf(countFile).map((line) => {
        const [kind, pid, at] = line.split(' ');
        return { kind, pid: Number(pid), at: Number(at) };
      });
      const [hung, created] = runs as [(typeof runs)[0], (typeof runs)[0]];
      timings.push(
        `hard_timeout: next creation ${String(created.at - hung.at)} ms after the hang ` +
          `(${hung.pid === created.pid ? 'in the hung process' : 'in another process'}), ` +
          `slowest caller ${slowest.toFixed(0)} ms, wave ${wallMs.toFixed(0)} ms`,
      );
      // One creator hung, then one other created the value.
      expect(runs.map(({ kind }) => kind)).toEqual(['hang', 'create']);
      // The hung creator saw its signal aborted at the hard timeout, and its call failed then.
      const hungProcess = results.find((result) => result.pid === hung.pid);
      expect(hungProcess?.abort).toMatchObject({ aborted: true, reason: 'CreationTimeoutError' });
      expect(results.filter((result) => result.abort !== undefined)).toHaveLength(1);
      const abortedAfter = Number(hungProcess?.abort?.at) - hung.at;
      expect(abortedAfter).toBeGreaterThanOrEqual(490);
      expect(abortedAfter).toBeLessThan(1500);
      const failed = answers.filter(({ error }) => error !== undefined);
      expect(failed.map(({ error }) => error)).toEqual(['CreationTimeoutError']);
      expect((failed[0] as Answer).ms).toBeGreaterThanOrEqual(490);
      expect((failed[0] as Answer).ms).toBeLessThan(1500);
      // The lock was free at once: the next creator started soon after the hard timeout, not at lock_timeout (30 s).
      expect(created.at - hung.at).toBeLessThan(2500);
      expect(tally(answers)).toEqual({
        'error CreationTimeoutError': 1,
        [`value created by ${String(created.pid)}`]: PROCESSES * CALLERS - 1,
      });
      // Every waiter got the value long before lock_timeout: the waiters of a process share one wait.
      expect(slowest).toBeLessThan(5000);
      expect(eventsOf(results)['lock-timeout']).toBeUndefined();
    }, 60_000);

    it('with stale_if_error = 60 and error_backoff = 1, runs a failing creator once per back-off across the processes, every caller getting the stale value', async () => {
      const cacheOptions = { expire: EXPIRE, stale_if_error: 60, error_backoff: 1 };
      await past.getCache<string>(namespace, { expire: EXPIRE, grace: 60 }).put('failing', 'old');
      const failingWave = (scenario: string) =>
        staleWave(scenario, {
          key: 'failing',
          options: cacheOptions,
          creator: 'throw',
          createMs: 0,
          value: 'unused',
        });

      const first = await failingWave('stale_if_error, first wave');
      // Still within the back-off the first wave started: nobody tries again.
      const again = await failingWave('stale_if_error, within the back-off');
      await sleep(1200);
      const afterBackoff = await failingWave('stale_if_error, after the back-off');
      expect(linesOf(first.countFile)).toHaveLength(1);
      expect(linesOf(again.countFile)).toHaveLength(0);
      expect(linesOf(afterBackoff.countFile)).toHaveLength(1);
      expect(eventsOf(first.results)).toEqual({ 'creation-error': 1 });
      expect(eventsOf(again.results)).toEqual({});
      expect(eventsOf(afterBackoff.results)).toEqual({ 'creation-error': 1 });
    }, 30_000);

    // Before the waiters of a process shared one wait, each waiter took the creation lock itself before it read the
    // created value, so the waiters got it one lock hand-over at a time: 200 hand-overs took longer than the creator
    // (5-10 s on the Datastore emulator, 1-3 s on PostgreSQL and MariaDB), and a waiter still queued at lock_timeout
    // ran the creator without reading the store again: about 175 creations of 200 on the Datastore emulator every
    // run, 10-110 on PostgreSQL and MariaDB in most runs, and some on Redis through ioredis and the Redis Cluster.
    it(`creates a cold key once for ${String(PROCESSES * CALLERS)} callers when the creator takes far less than lock_timeout = 1`, async () => {
      const { results, countFile, wallMs } = await wave({
        key: 'cold',
        options: { expire: 600, lock_timeout: 1 },
        creator: 'slow',
        createMs: 100,
        value: 'created',
      });
      const creations = linesOf(countFile).length;
      const events = eventsOf(results);
      timings.push(
        `cold key, lock_timeout = 1: ${String(creations)} creations, ${String(events['lock-timeout'] ?? 0)} lock-timeouts, ` +
          `slowest caller ${summary(results).slowest.toFixed(0)} ms, wave ${wallMs.toFixed(0)} ms`,
      );
      expect(tally(summary(results).answers)).toEqual({ 'value created': PROCESSES * CALLERS });
      expect(creations).toBe(1);
    }, 30_000);
  });
}
