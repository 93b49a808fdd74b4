/**
 * Two-stage locking for dog-pile protection: callers in one process queue on an in-process mutex, so only one of
 * them at a time contends for the cross-process lock.
 * @module
 */
import type { AcquireOptions, LockHandle, LockProvider } from './contract.js';
import type { KeyedMutex } from './keyed-mutex.js';
import { systemTimers, type Timers } from '../shared/timers.js';

export class TwoStageLock implements LockProvider {
  readonly #local: KeyedMutex;
  readonly #shared: LockProvider | undefined;
  readonly #timers: Timers;

  /** `timers`: the clock the wait's deadline is measured on. */
  constructor(local: KeyedMutex, shared: LockProvider | undefined, timers: Timers = systemTimers) {
    this.#local = local;
    this.#shared = shared;
    this.#timers = timers;
  }

  async acquire(name: string, waitMs: number, options?: AcquireOptions): Promise<LockHandle | undefined> {
    const deadline = this.#timers.now() + waitMs;
    const local = await this.#local.acquire(name, waitMs);
    if (!local || !this.#shared) return local;
    let shared: LockHandle | undefined;
    try {
      shared = await this.#shared.acquire(name, Math.max(0, deadline - this.#timers.now()), options);
    } finally {
      if (!shared) await local.release();
    }
    if (!shared) return undefined;
    const held = shared;
    return {
      release: async () => {
        try {
          await held.release();
        } finally {
          await local.release();
        }
      },
    };
  }
}
