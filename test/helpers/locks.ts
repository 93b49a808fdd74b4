/** Checks shared by the lock tests of several stores. */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { LockProvider } from '../../src/backends/index.js';

/** Rounds of {@link expectWokenOnRelease}: a waiter that only polls passes one by chance, not all of them. */
export const WAKE_ROUNDS = 3;
/** Longest a woken waiter may take; a poll at its 200 ms cap (100-300 ms with jitter) rarely lands this soon. */
const WAKE_MS = 60;

/**
 * `waiter` waits for a lock `owner` holds; after 800 ms (when its poll interval is at its 200 ms cap) `owner`
 * releases it: only a wake-up from the store lets the waiter take it within {@link WAKE_MS}, {@link WAKE_ROUNDS} times
 * running.
 */
export async function expectWokenOnRelease(
  owner: LockProvider,
  waiter: LockProvider,
  name: string,
): Promise<void> {
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
  expect(Math.max(...delays), `wake-up delays ${delays.join(', ')} ms`).toBeLessThan(WAKE_MS);
}
