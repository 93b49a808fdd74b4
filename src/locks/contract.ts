/**
 * The lock contract used by dog-pile protection: named locks with a bounded wait.
 * @module
 */

/** A held lock. */
export interface LockHandle {
  /** Releases the lock; releasing twice is harmless. */
  release(): Promise<void>;
}

/** Hands out named locks. */
export interface LockProvider {
  /**
   * Takes the lock `name`, waiting at most `waitMs` milliseconds (0: only try once).
   * Resolves to `undefined` when the lock could not be taken in time.
   */
  acquire(name: string, waitMs: number): Promise<LockHandle | undefined>;
  /** Releases what the provider holds (timers, connections). */
  close?(): Promise<void>;
}
