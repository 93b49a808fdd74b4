/**
 * Lease locks for stores shared by hosts: a lock is a key holding a random owner token with a TTL (the lease).
 * Its holder renews it every lease/3 while it works and only its holder can release it; a holder that dies simply
 * stops renewing, and the lock expires. Waiters retry with a capped, jittered back-off, and wake at once when the
 * store can notify them.
 * @module
 */
import { createHash } from 'node:crypto';
import { storeCommand } from '../shared/store-command.js';
import { sleep, systemTimers, type TimerHandle, type Timers } from '../shared/timers.js';
import type { AcquireOptions, LockContext, LockHandle, LockProvider } from './contract.js';
import { HostReleaseNotices } from './host-release-notices.js';
import { HolderChecks, holderPid, isDeadLocalHolder, newHolderToken } from './holder.js';

/** What a store offers to hold leases. */
export interface LeaseStore {
  /** Sets `key` to `token` with a TTL of `leaseMs`, only if `key` does not exist; true when taken. */
  take(key: string, token: string, leaseMs: number): Promise<boolean>;
  /** Extends the TTL if `key` still holds `token`; false when the lease was lost. */
  renew(key: string, token: string, leaseMs: number): Promise<boolean>;
  /** Deletes `key` if it still holds `token`; true when it did. */
  release(key: string, token: string): Promise<boolean>;
  /**
   * The token `key` holds, or undefined when it is free. Optional: with it, a waiter takes over at once the lock of
   * a holder on its own host whose process is gone (killed, crashed), instead of waiting for the lease to end.
   */
  owner?(key: string): Promise<string | undefined>;
  /** Resolves when `key` may have been released, or after `ms` at the latest (stores that can notify). */
  waitForRelease?(key: string, ms: number): Promise<void>;
  close?(): Promise<void>;
}

/** The lease of a server back-end's creation lock when `lock_lease` is not given. */
const DEFAULT_LEASE_MS = 30_000;

/** The lease in milliseconds from a back-end's `lock_lease` option (seconds). */
export function leaseMsOf(options: { lock_lease?: number | null }): number {
  return typeof options.lock_lease === 'number' ? options.lock_lease * 1000 : DEFAULT_LEASE_MS;
}

const MIN_POLL_MS = 25;
const MAX_POLL_MS = 200;
/** A release that failed on a store error is tried again after this pause, doubling up to the maximum. */
const FIRST_RELEASE_RETRY_MS = 100;
const MAX_RELEASE_RETRY_MS = 2000;

/**
 * Cross-host creation locks over any {@link LeaseStore}: renewed every lease/3 while held, released by their holder
 * only, a release that failed on an outage retried with back-off; waiters poll (capped, jittered) or are woken by the
 * store's `waitForRelease` or, given `hostNotices`, by the other processes of this host.
 */
export class LeaseLockProvider implements LockProvider {
  readonly #store: LeaseStore;
  readonly #prefix: string;
  readonly #keyOf: ((name: string) => string | undefined) | undefined;
  readonly #leaseMs: number;
  readonly #backend: string;
  readonly #context: LockContext;
  readonly #timers: Timers;
  /** Stops the renewal of each held lock. */
  readonly #renewals = new Set<() => void>();
  readonly #releaseRetries = new Set<TimerHandle>();
  readonly #notices: HostReleaseNotices | undefined;
  #closed = false;

  constructor(
    store: LeaseStore,
    options: {
      prefix: string;
      leaseMs: number;
      backend: string;
      context: LockContext;
      /** The store's own key for a lock name, where it has one (else the prefix and a digest of the name). */
      keyOf?: (name: string) => string | undefined;
      /**
       * For a store that cannot notify waiters: its type and address, under which the processes of one host tell
       * each other about releases ({@link HostReleaseNotices}).
       */
      hostNotices?: string;
    },
  ) {
    this.#store = store;
    this.#prefix = options.prefix;
    this.#keyOf = options.keyOf;
    this.#timers = options.context.timers ?? systemTimers;
    if (!store.waitForRelease && options.hostNotices !== undefined)
      this.#notices = new HostReleaseNotices(options.hostNotices, undefined, this.#timers);
    this.#leaseMs = options.leaseMs;
    this.#backend = options.backend;
    this.#context = options.context;
  }

  async acquire(name: string, waitMs: number, options?: AcquireOptions): Promise<LockHandle | undefined> {
    const leaseMs = options?.leaseMs ?? this.#leaseMs;
    const key =
      this.#keyOf?.(name) ?? `${this.#prefix}${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
    const token = newHolderToken();
    const deadline = this.#timers.now() + waitMs;
    let pause = MIN_POLL_MS;
    const holderChecks = new HolderChecks();
    for (;;) {
      const takenAt = this.#timers.now();
      const taken = await storeCommand(this.#backend, 'taking a lock', () =>
        this.#store.take(key, token, leaseMs),
      );
      if (taken) return this.#held(key, token, takenAt, leaseMs);
      if (holderChecks.due(this.#timers.now()) && (await this.#releasedFromDeadHolder(key))) continue;
      const left = deadline - this.#timers.now();
      if (left <= 0) return undefined;
      // Jitter keeps waiters from retrying in step.
      const wait = Math.min(left, pause * (0.5 + Math.random()));
      await this.#waitForRelease(key, wait);
      pause = Math.min(MAX_POLL_MS, pause * 2);
    }
  }

  /**
   * Releases `key` when its holder is a process of this host that is gone, so the lock is free now rather than when
   * its lease ends; true when it did. The release compares the token, so a lock taken again since is left alone.
   */
  async #releasedFromDeadHolder(key: string): Promise<boolean> {
    const store = this.#store;
    if (!store.owner) return false;
    const holder = await storeCommand(this.#backend, 'reading a lock', async () => await store.owner?.(key));
    if (holder === undefined || !isDeadLocalHolder(holder)) return false;
    const released = await storeCommand(this.#backend, 'releasing a lock', () =>
      this.#store.release(key, holder),
    );
    if (released) {
      this.#context.report({
        type: 'backend-warning',
        backend: this.#backend,
        key,
        message: `took over the lock ${key}: its holder (process ${String(holderPid(holder))} on this host) is gone`,
      });
    }
    return released;
  }

  #held(key: string, token: string, takenAt: number, leaseMs: number): LockHandle {
    // Until when the store keeps the lock if its holder stops renewing it.
    let leaseEnd = takenAt + leaseMs;
    const stopRenewal = this.#renewEvery(key, token, leaseMs, (renewedAt) => {
      leaseEnd = renewedAt + leaseMs;
    });
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        stopRenewal();
        await this.#release(key, token).catch(() => {
          // The store is down: the lock stays until its lease ends, and every caller of this entry would wait for
          // that. Its holder knows it is free, so it keeps trying while the lease runs.
          this.#releaseLater(key, token, leaseEnd);
        });
      },
    };
  }

  /**
   * Renews the lease of `key` every lease/3 until the returned function is called or the lease is lost; `renewed`
   * is told when each renewal the store confirmed was sent. The next renewal is scheduled when one is sent, not when
   * it is answered, so a slow store does not space renewals out.
   */
  #renewEvery(key: string, token: string, leaseMs: number, renewed: (renewedAt: number) => void): () => void {
    let timer: TimerHandle | undefined;
    const stop = (): void => {
      this.#timers.clearTimeout(timer);
      this.#renewals.delete(stop);
    };
    const schedule = (): void => {
      timer = this.#timers.setTimeout(renew, Math.floor(leaseMs / 3));
      timer.unref?.();
    };
    const renew = (): void => {
      schedule();
      const renewedAt = this.#timers.now();
      void this.#store.renew(key, token, leaseMs).then(
        (owned) => {
          if (owned) {
            renewed(renewedAt);
            return;
          }
          stop();
          this.#context.report({
            type: 'lock-compromised',
            backend: this.#backend,
            message: `lost the lock ${key}`,
          });
        },
        () => undefined,
      );
    };
    schedule();
    this.#renewals.add(stop);
    return stop;
  }

  async #release(key: string, token: string): Promise<void> {
    const deleted = await this.#store.release(key, token);
    // Not awaited: a session save or a creation need not wait for the host's notice file to be appended to.
    if (deleted) void this.#notices?.announce(key);
  }

  /** Tries to release `key` in the background, with a growing pause, until it succeeds or `leaseEnd` passes. */
  #releaseLater(key: string, token: string, leaseEnd: number, pauseMs = FIRST_RELEASE_RETRY_MS): void {
    if (this.#closed || this.#timers.now() + pauseMs >= leaseEnd) return;
    const retry = this.#timers.setTimeout(() => {
      this.#releaseRetries.delete(retry);
      this.#release(key, token).catch(() => {
        this.#releaseLater(key, token, leaseEnd, Math.min(MAX_RELEASE_RETRY_MS, pauseMs * 2));
      });
    }, pauseMs);
    retry.unref?.();
    this.#releaseRetries.add(retry);
  }

  #waitForRelease(key: string, ms: number): Promise<void> {
    if (this.#store.waitForRelease) return this.#store.waitForRelease(key, ms);
    return this.#notices ? this.#notices.waitForRelease(key, ms) : sleep(this.#timers, ms);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const stopRenewal of [...this.#renewals]) stopRenewal();
    for (const retry of this.#releaseRetries) this.#timers.clearTimeout(retry);
    this.#releaseRetries.clear();
    this.#notices?.close();
    await this.#store.close?.();
  }
}
