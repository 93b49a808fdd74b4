/** Checks shared by the lock tests of several stores. */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { LockProvider } from '../../src/backends/index.js';
import { systemTimers, type TimerHandle, type Timers } from '../../src/shared/timers.js';

/** Rounds of {@link expectWokenOnRelease}. */
export const WAKE_ROUNDS = 5;
/** Rounds that must be fast: one may be slowed by a stall of this machine. */
const FAST_ROUNDS = 4;
/** Longest a woken waiter may take beyond the store's own time to take a free lock. */
const WAKE_MS = 40;
/**
 * A wait this long ends, unless a wake-up cuts it short, well past {@link WAKE_MS}. A waiter's polls back off from
 * 25 ms to a 200 ms cap, with jitter (half to one and a half times the pause): its sleeps at the cap last at least
 * this long, and so do some at the step below.
 */
export const LONG_WAIT_MS = 100;
/** How long a round waits for the waiter to begin a long wait before it fails (the waiter needs about 200 ms). */
const LONG_WAIT_BOUND_MS = 5000;
/**
 * How long the waiter's store has, once a wait began, to listen for the release. Stores start listening as each wait
 * begins, after it is timed (Redis subscribes; the host's notices watch their file again, which takes a few file
 * operations), and a release in that gap is missed by design (the waiter polls): releasing in it would check the
 * gap, not the wake-up. No event says the store listens; this pause is the one left.
 */
const LISTEN_MS = 20;

/**
 * The host's timers, watched: a test learns when a lock waiter that runs on them begins a wait of at least
 * {@link LONG_WAIT_MS} (its poll sleeps, and the waits that a store's wake-up cuts short, are timers), and when a
 * lock holder has run a number of callbacks (its renewals). A store that waits elsewhere (MySQL's `GET_LOCK`, in
 * the server) tells {@link WatchedTimers.waitBegan} itself.
 */
export class WatchedTimers implements Timers {
  readonly #longWaitWatchers = new Set<() => void>();
  readonly #runWatchers = new Set<{ count: number; resolve: () => void }>();
  #run = 0;

  readonly now = systemTimers.now;
  readonly clearTimeout = systemTimers.clearTimeout;
  readonly setTimeout = (callback: () => void, ms: number): TimerHandle => {
    const handle = systemTimers.setTimeout(() => {
      callback();
      this.#callbackRun();
    }, ms);
    this.waitBegan(ms);
    return handle;
  };

  #callbackRun(): void {
    this.#run += 1;
    for (const watcher of this.#runWatchers) {
      if (this.#run < watcher.count) continue;
      this.#runWatchers.delete(watcher);
      watcher.resolve();
    }
  }

  /** Resolves once `count` callbacks of these timers have run, counting from their creation. */
  readonly callbacksRun = (count: number): Promise<void> =>
    new Promise((resolve) => {
      if (this.#run >= count) resolve();
      else this.#runWatchers.add({ count, resolve });
    });

  /** Tells the watchers that a wait of `ms` began. */
  readonly waitBegan = (ms: number): void => {
    if (ms < LONG_WAIT_MS) return;
    for (const began of this.#longWaitWatchers) began();
    this.#longWaitWatchers.clear();
  };

  /** Resolves when a wait of at least {@link LONG_WAIT_MS} next begins. */
  readonly nextLongWait = (): Promise<void> =>
    new Promise((resolve) => {
      this.#longWaitWatchers.add(resolve);
    });
}

/**
 * `waiter` waits for a lock `owner` holds; `owner` releases it {@link LISTEN_MS} after `longWaitBegun` says that the
 * waiter has begun a wait of at least {@link LONG_WAIT_MS} (`longWaitBegun` is called before the waiter starts, and
 * resolves once). A waiter that only polls could then take the lock no sooner than that wait's end, at least 80 ms
 * after the release and so 40 ms past the bound, in every round: only a wake-up from the store lets it take the lock
 * within {@link WAKE_MS} of the time a free lock takes on that store, in {@link FAST_ROUNDS} of {@link WAKE_ROUNDS}
 * rounds.
 */
export async function expectWokenOnRelease(
  owner: LockProvider,
  waiter: LockProvider,
  name: string,
  longWaitBegun: () => Promise<void>,
): Promise<void> {
  const takeMs = await freeLockMs(waiter, name);
  const delays: number[] = [];
  for (let round = 0; round < WAKE_ROUNDS; round += 1) {
    const lock = await owner.acquire(name, 0);
    expect(lock).toBeDefined();
    let acquiredAt = 0;
    const longWait = longWaitBegun();
    const waiting = waiter.acquire(name, 10_000).then((handle) => {
      acquiredAt = Date.now();
      return handle;
    });
    await untilLongWait(longWait, waiting);
    await sleep(LISTEN_MS);
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

/** Resolves when `longWait` does; fails if the waiter ended its wait first, or none began within the bound. */
function untilLongWait(longWait: Promise<void>, waiting: Promise<unknown>): Promise<void> {
  const endedFirst = waiting.then(() => {
    throw new Error('the waiter ended its wait while the lock was held');
  });
  return within(
    Promise.race([longWait, endedFirst]),
    LONG_WAIT_BOUND_MS,
    `the waiter began no wait of ${String(LONG_WAIT_MS)} ms or more`,
  );
}

/** What `condition` resolves to, or a failure saying `what` did not happen within `ms`. */
export async function within<T>(condition: Promise<T>, ms: number, what: string): Promise<T> {
  let bound: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    bound = setTimeout(() => {
      reject(new Error(`${what} within ${String(ms)} ms`));
    }, ms);
  });
  try {
    return await Promise.race([condition, late]);
  } finally {
    clearTimeout(bound);
  }
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
