/**
 * The time source and timers of locks, leases, waits and store timeouts. Everything that waits or measures a wait
 * takes a {@link Timers}, so tests can advance time instead of sleeping; {@link systemTimers} is the real one.
 * @module
 */

/** What a scheduled callback returns: the host's timer, or a fake one. */
export interface TimerHandle {
  /** Lets the process exit while the timer is pending (Node's `Timeout.unref`). */
  unref?(): unknown;
}

/** A clock and one-shot timers: the subset of the host's timer API that locks and timeouts use. */
export interface Timers {
  /** The current time in milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once after `ms` milliseconds. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a callback scheduled by {@link Timers.setTimeout}; a handle that already ran or is undefined is ignored. */
  clearTimeout(handle: TimerHandle | undefined): void;
}

/** The host's clock and timers. */
export const systemTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => {
    clearTimeout(handle as NodeJS.Timeout | undefined);
  },
};

/**
 * The host's clock read at most once per millisecond: the default clock of caches, whose hits would otherwise spend
 * a third of their time in `Date.now()`. The value is kept until the next turn of the timer phase, so within one
 * long synchronous stretch time stands still (an entry may then expire that much later, never earlier).
 */
export function millisecondClock(): () => number {
  let cached: number | undefined;
  const forget = (): void => {
    cached = undefined;
  };
  return () => {
    if (cached === undefined) {
      cached = Date.now();
      setTimeout(forget, 1).unref();
    }
    return cached;
  };
}

/** Resolves after `ms` on `timers`; `unref`: the pause does not keep the process alive. */
export function sleep(timers: Timers, ms: number, options: { unref?: boolean } = {}): Promise<void> {
  return new Promise((resolve) => {
    const timer = timers.setTimeout(resolve, ms);
    if (options.unref === true) timer.unref?.();
  });
}

/**
 * Settles as `work` does if it settles within `ms`, else with what `onTimeout` returns (or throws) at that time; what
 * `work` does afterwards is ignored (its rejection included, which is never left unhandled). The timer is cleared when
 * `work` settles first.
 */
export function withinTime<T>(
  timers: Timers,
  ms: number,
  work: Promise<T>,
  onTimeout: () => T | Promise<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = timers.setTimeout(() => {
      settled = true;
      try {
        resolve(onTimeout());
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    }, ms);
    work.then(
      (value) => {
        timers.clearTimeout(timer);
        if (!settled) resolve(value);
      },
      (error: unknown) => {
        timers.clearTimeout(timer);
        if (!settled) reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
