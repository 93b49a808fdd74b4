/** Checks shared by the lock tests of several stores. */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { LockProvider } from '../../src/backends/index.js';

/**
 * `waiter` waits for a lock `owner` holds; after a second (when its poll interval is at its 200 ms cap) `owner`
 * releases it: only a wake-up from the store lets the waiter take it within 100 ms.
 */
export async function expectWokenOnRelease(
  owner: LockProvider,
  waiter: LockProvider,
  name: string,
): Promise<void> {
  const lock = await owner.acquire(name, 0);
  expect(lock).toBeDefined();
  let acquiredAt = 0;
  const waiting = waiter.acquire(name, 10_000).then((handle) => {
    acquiredAt = Date.now();
    return handle;
  });
  await sleep(1000);
  const releasedAt = Date.now();
  await lock?.release();
  const handle = await waiting;
  expect(handle).toBeDefined();
  expect(acquiredAt - releasedAt).toBeLessThan(100);
  await handle?.release();
}
