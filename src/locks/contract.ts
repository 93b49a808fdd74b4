/**
 * The lock contract used by dog-pile protection: named locks with a bounded wait.
 * @module
 */
import type { Timers } from '../shared/timers.js';

/** A held lock. */
export interface LockHandle {
  /** Releases the lock; releasing twice is harmless. */
  release(): Promise<void>;
}

/** What a lock reports without failing its caller: a lease it lost, a release it could not make. */
export interface LockEvent {
  type: 'lock-compromised' | 'backend-warning';
  /** The back-end the lock lives on. */
  backend: string;
  message: string;
  key?: string;
  error?: unknown;
}

/** What a lock provider on a store needs from its back-end: how to report, its timers, its command timeout. */
export interface LockContext {
  /** Receives what the locks report (a back-end's `report`). */
  report: (event: LockEvent) => void;
  /** The clock and timers of leases, renewals and waits; absent: the host's. */
  timers?: Timers;
  /** How long one store command may take, in ms; absent: the store command's default. */
  commandTimeoutMs?: number;
}

/** Options of one {@link LockProvider.acquire}. */
export interface AcquireOptions {
  /**
   * The lease of this lock in ms, for a provider that leases its locks: a holder that stops renewing it (hung, or
   * dead on another host) loses it after this long. Absent: the provider's own (`lock_lease`).
   */
  leaseMs?: number;
}

/** Hands out named locks. */
export interface LockProvider {
  /**
   * Takes the lock `name`, waiting at most `waitMs` milliseconds (0: only try once).
   * Resolves to `undefined` when the lock could not be taken in time.
   */
  acquire(name: string, waitMs: number, options?: AcquireOptions): Promise<LockHandle | undefined>;
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
