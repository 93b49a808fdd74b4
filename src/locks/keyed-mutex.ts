/**
 * An in-process keyed mutex: one async lock per name, waiters served in arrival order and woken at once on release.
 * Entries are removed when nobody holds or waits for a name, so the map never grows with the number of keys seen.
 * @module
 */
import { systemTimers, type TimerHandle, type Timers } from '../shared/timers.js';
import type { LockHandle, LockProvider } from './contract.js';

interface Waiter {
  grant: () => void;
  timer?: TimerHandle;
}

interface Slot {
  waiters: Waiter[];
}

export class KeyedMutex implements LockProvider {
  readonly #slots = new Map<string, Slot>();
  readonly #timers: Timers;

  /** `timers`: what times the waits (fake ones in tests). */
  constructor(timers: Timers = systemTimers) {
    this.#timers = timers;
  }

  /** Is `name` held right now? */
  isLocked(name: string): boolean {
    return this.#slots.has(name);
  }

  acquire(name: string, waitMs: number): Promise<LockHandle | undefined> {
    const slot = this.#slots.get(name);
    if (!slot) {
      this.#slots.set(name, { waiters: [] });
      return Promise.resolve(this.#handle(name));
    }
    if (waitMs <= 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        grant: () => {
          resolve(this.#handle(name));
        },
      };
      waiter.timer = this.#timers.setTimeout(() => {
        slot.waiters.splice(slot.waiters.indexOf(waiter), 1);
        resolve(undefined);
      }, waitMs);
      slot.waiters.push(waiter);
    });
  }

  #handle(name: string): LockHandle {
    let released = false;
    return {
      release: () => {
        if (!released) {
          released = true;
          this.#release(name);
        }
        return Promise.resolve();
      },
    };
  }

  #release(name: string): void {
    const slot = this.#slots.get(name);
    const next = slot?.waiters.shift();
    if (!next) {
      this.#slots.delete(name);
      return;
    }
    this.#timers.clearTimeout(next.timer);
    next.grant();
  }
}
