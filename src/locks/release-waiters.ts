/**
 * Lock waiters parked until the release of their lock is announced, or until their wait runs out: the wake-up side
 * of every store that can tell waiters about releases (Redis pub/sub, PostgreSQL NOTIFY, a watched file).
 * @module
 */
import { systemTimers, type Timers } from '../shared/timers.js';

export class ReleaseWaiters {
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #timers: Timers;

  /** `timers`: what ends the waits that no release cuts short. */
  constructor(timers: Timers = systemTimers) {
    this.#timers = timers;
  }

  /** Resolves when {@link wake} is called for `key`, or after `ms`. Registers at once, before any await. */
  wait(key: string, ms: number): Promise<void> {
    let waiting = this.#waiters.get(key);
    if (!waiting) {
      waiting = new Set();
      this.#waiters.set(key, waiting);
    }
    const listeners = waiting;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.#timers.clearTimeout(timer);
        listeners.delete(done);
        if (listeners.size === 0 && this.#waiters.get(key) === listeners) this.#waiters.delete(key);
        resolve();
      };
      const timer = this.#timers.setTimeout(done, ms);
      listeners.add(done);
    });
  }

  /** Wakes everyone waiting for `key`. */
  wake(key: string): void {
    for (const done of [...(this.#waiters.get(key) ?? [])]) done();
  }

  /** Whether anyone waits for `key`, or with no key, for any lock. */
  has(key?: string): boolean {
    return key === undefined ? this.#waiters.size > 0 : this.#waiters.has(key);
  }
}
