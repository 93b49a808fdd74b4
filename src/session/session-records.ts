/**
 * `SessionRecords`: the store of one manager's server-side sessions, as sessions, the user index and the manager's
 * revocations use it: operations whose failure becomes a {@link SessionStoreError}, and the locks of records. One per
 * manager, shared by its sessions.
 * @module
 */
import type { AnyBackend } from '../backends/contract.js';
import { entryLockName, type LockHandle, type LockProvider } from '../locks/contract.js';
import {
  isConfigurationError,
  redactCredentials,
  SessionTooLargeError,
  ValueTooLargeError,
} from '../shared/errors.js';
import { SessionStoreError } from './errors.js';
import type { SessionEvent } from './settings.js';

/** How long a save or removal waits for a record's lock. */
export const LOCK_WAIT_MS = 5000;
/**
 * The lease of a record's lock, renewed every second while held: shorter than {@link LOCK_WAIT_MS}, so that when a
 * holder stops renewing (it hung, or died on another host) a waiting save takes the lock over before its wait ends,
 * rather than saving without it. (A holder on the waiter's own host that died is taken over at once.)
 */
const LOCK_LEASE_MS = 3000;

/** What {@link SessionRecords} is made of: the manager's back-end and its locks. */
export interface SessionRecordsOptions {
  backend: () => Promise<AnyBackend>;
  /** The back-end once open, else undefined. */
  openedBackend: () => AnyBackend | undefined;
  locks: (backend: AnyBackend) => LockProvider;
  report: (event: SessionEvent) => void;
}

/** The store of a manager's server-side sessions, and the locks of its records. */
export class SessionRecords {
  readonly #options: SessionRecordsOptions;

  constructor(options: SessionRecordsOptions) {
    this.#options = options;
  }

  /** The back-end, once open (for a read at once through `peek`), else undefined. */
  opened(): AnyBackend | undefined {
    return this.#options.openedBackend();
  }

  /** Runs a store operation, turning its failure into a {@link SessionStoreError} (`what` names it). */
  async run<R>(what: string, operation: (backend: AnyBackend) => Promise<R>): Promise<R> {
    try {
      return await operation(this.#options.openedBackend() ?? (await this.#options.backend()));
    } catch (error) {
      throw this.failure(what, error);
    }
  }

  /** The error a failed store operation fails the request with (reported as a `store-error`, but for two kinds). */
  failure(what: string, error: unknown): unknown {
    // A store that cannot exist as configured, or a session too large for it, is the application's error, not an
    // outage to answer with 503.
    if (
      error instanceof SessionStoreError ||
      error instanceof ValueTooLargeError ||
      error instanceof SessionTooLargeError ||
      isConfigurationError(error)
    )
      return error;
    const detail = redactCredentials(error instanceof Error ? error.message : String(error));
    this.#options.report({
      type: 'store-error',
      message: `the session store could not ${what}: ${detail}`,
      error,
    });
    return new SessionStoreError(what, { cause: error });
  }

  /** The lock of the record `key` of `namespace`, or undefined after {@link LOCK_WAIT_MS}. */
  acquire(namespace: string, key: string): Promise<LockHandle | undefined> {
    return this.run('lock the session', (backend) =>
      this.#options
        .locks(backend)
        .acquire(entryLockName(namespace, key), LOCK_WAIT_MS, { leaseMs: LOCK_LEASE_MS }),
    );
  }

  /**
   * Runs `operation` holding the lock of the record `key` (`held`, when the caller holds it already). A lock not
   * obtained in time is reported as a `lock-timeout` (`label` names the record) and the operation runs all the same:
   * a store must stay usable when a lock holder hangs.
   */
  async underLock<R>(
    namespace: string,
    key: string,
    held: LockHandle | undefined,
    label: string,
    operation: () => Promise<R>,
  ): Promise<R> {
    const lock = held ?? (await this.acquire(namespace, key));
    if (!lock)
      this.#options.report({
        type: 'lock-timeout',
        message: `${label} without its lock after ${LOCK_WAIT_MS} ms`,
      });
    try {
      return await operation();
    } finally {
      if (!held) await lock?.release();
    }
  }
}
