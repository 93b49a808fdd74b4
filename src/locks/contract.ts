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

/**
 * The name of the lock that guards one entry of a namespace. Stores that keep a lock next to its entry (on the same
 * Redis Cluster master) read the namespace and key back with {@link entryOfLockName}.
 */
export function entryLockName(namespace: string, key: string): string {
  return `${namespace}\u0000${key}`;
}

/** The namespace and key of a name made by {@link entryLockName}, or undefined for another name. */
export function entryOfLockName(name: string): { namespace: string; key: string } | undefined {
  const separator = name.indexOf('\u0000');
  if (separator < 0) return undefined;
  return { namespace: name.slice(0, separator), key: name.slice(separator + 1) };
}
