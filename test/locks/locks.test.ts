import { mkdirSync, mkdtempSync, readdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileLockProvider, lockPath } from '../../src/locks/file-lock.js';
import { KeyedMutex } from '../../src/locks/keyed-mutex.js';
import { ManualTimers } from '../helpers/manual-timers.js';

describe('KeyedMutex', () => {
  it('serves waiters in arrival order and forgets free names', async () => {
    const mutex = new KeyedMutex();
    const order: number[] = [];
    const first = await mutex.acquire('k', 0);
    const waiting = [1, 2, 3].map(async (n) => {
      const handle = await mutex.acquire('k', 1000);
      order.push(n);
      await handle?.release();
    });
    expect(await mutex.acquire('k', 0)).toBeUndefined();
    expect(await mutex.acquire('other', 0)).toBeDefined();
    await first?.release();
    await Promise.all(waiting);
    expect(order).toEqual([1, 2, 3]);
    expect(mutex.isLocked('k')).toBe(false);
  });

  it('gives up after the wait, not before, and leaves the queue clean', async () => {
    const timers = new ManualTimers();
    const mutex = new KeyedMutex(timers);
    const held = await mutex.acquire('k', 0);
    let outcome: string | undefined;
    void mutex.acquire('k', 20).then((handle) => (outcome = handle ? 'taken' : 'gave up'));
    await timers.advance(19);
    expect(outcome).toBeUndefined();
    await timers.advance(1);
    expect(outcome).toBe('gave up');
    expect(timers.pendingCount).toBe(0);
    await held?.release();
    await held?.release();
    expect(mutex.isLocked('k')).toBe(false);
    expect(await mutex.acquire('k', 0)).toBeDefined();
  });
});

describe('FileLockProvider', () => {
  it('excludes a second holder, including one from another provider (another process)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'beaker-locks-'));
    const [one, two] = [new FileLockProvider(join(dir, 'locks')), new FileLockProvider(join(dir, 'locks'))];
    const held = await one.acquire('name', 0);
    expect(held).toBeDefined();
    expect(await two.acquire('name', 0)).toBeUndefined();
    const waiting = two.acquire('name', 2000);
    await held?.release();
    const next = await waiting;
    expect(next).toBeDefined();
    await next?.release();
  });

  it('removes released locks, so lock files do not pile up (Beaker #124)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'beaker-locks-'));
    const provider = new FileLockProvider(dir);
    for (let index = 0; index < 50; index += 1) await (await provider.acquire(`key-${index}`, 0))?.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('takes over the lock of a holder that died (its lock no longer refreshed past the lease)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'beaker-locks-'));
    const abandoned = lockPath(dir, 'name');
    mkdirSync(abandoned);
    const provider = new FileLockProvider(dir, { leaseMs: 5000 });
    expect(await provider.acquire('name', 0)).toBeUndefined();
    const minuteAgo = new Date(Date.now() - 60_000);
    utimesSync(abandoned, minuteAgo, minuteAgo);
    const taken = await provider.acquire('name', 0);
    expect(taken).toBeDefined();
    await taken?.release();
  });
});
