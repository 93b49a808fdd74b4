/** Checks shared by the lock tests of several stores. */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { LockProvider } from '../../src/backends/index.js';

/** Rounds of {@link expectWokenOnRelease}. */
export const WAKE_ROUNDS = 5;
/**
 * Rounds that must be fast: one may be slowed by a stall of this machine. A waiter that only polls lands within the
 * bound on about one round in six (its 200 ms cap, 100-300 ms with jitter), so it passes 4 of 5 rarely (under 1 %).
 */
const FAST_ROUNDS = 4;
/** Longest a woken waiter may take beyond the store's own time to take a free lock. */
const WAKE_MS = 40;

/**
 * `waiter` waits for a lock `owner` holds; after 800 ms (when its poll interval is at its 200 ms cap) `owner`
 * releases it: only a wake-up from the store lets the waiter take it within {@link WAKE_MS} of the time a free lock
 * takes on that store, in {@link FAST_ROUNDS} of {@link WAKE_ROUNDS} rounds.
 */
export async function expectWokenOnRelease(
  owner: LockProvider,
  waiter: LockProvider,
  name: string,
): Promise<void> {
  const takeMs = await freeLockMs(waiter, name);
  const delays: number[] = [];
  for (let round = 0; round < WAKE_ROUNDS; round += 1) {
    const lock = await owner.acquire(name, 0);
    expect(lock).toBeDefined();
    let acquiredAt = 0;
    const waiting = waiter.acquire(name, 10_000).then((handle) => {
      acquiredAt = Date.now();
      return handle;
    });
    await sleep(800);
    const releasedAt = Date.now();
    await lock?.release();
    const handle = await waiting;
    expect(handle).toBeDefined();
    delays.push(acquiredAt - releasedAt);
    await handle?.release();
  }
  const fast = delays.filter((delay) => delay < takeMs + WAKE_MS).length;
  expect(
    fast,
    `wake-up delays ${delays.join(', ')} ms; a free lock takes ${String(takeMs)} ms`,
  ).toBeGreaterThanOrEqual(FAST_ROUNDS);
}

/** How many times {@link expectWokenOnRelease} first takes and releases the free lock (to time it). */
export const FREE_LOCK_TAKES = 3;

/** The slowest of {@link FREE_LOCK_TAKES} takes of a free lock (Datastore, say, needs a transaction: tens of milliseconds). */
async function freeLockMs(provider: LockProvider, name: string): Promise<number> {
  let slowest = 0;
  for (let attempt = 0; attempt < FREE_LOCK_TAKES; attempt += 1) {
    const started = Date.now();
    const lock = await provider.acquire(name, 0);
    slowest = Math.max(slowest, Date.now() - started);
    expect(lock).toBeDefined();
    await lock?.release();
  }
  return slowest;
}
