/**
 * Leases on stores without native TTL (SQL, MongoDB, Datastore): a lease is a row that holds its owner's token and
 * the time its lease ends. A key is free when it has no row, or only one whose lease ended (its holder stopped
 * renewing it). {@link RowLeaseStore} is the one taking algorithm over such rows; a store implements only the
 * primitive operations of {@link LeaseRows}, each atomic on the store.
 * @module
 */
import { systemTimers, type Timers } from '../shared/timers.js';
import type { LeaseStore } from './lease.js';

/** What every store of lease rows offers. */
export interface LeaseRowReads {
  /** When the lease in `key`'s row ends (milliseconds since the epoch); undefined when `key` has no row. */
  leaseEndOf(key: string): Promise<number | undefined>;
  /** Moves the end of `key`'s lease to `leaseEnd` if its row still holds `token`; false when it does not. */
  extend(key: string, token: string, leaseEnd: number): Promise<boolean>;
  /** Deletes `key`'s row if it still holds `token`; true when it did. */
  remove(key: string, token: string): Promise<boolean>;
  /**
   * The token in `key`'s row, undefined when it has none. Optional: with it a waiter takes over at once the lock of
   * a holder on its host whose process is gone ({@link LeaseStore.owner}).
   */
  ownerOf?(key: string): Promise<string | undefined>;
}

/** A store with unique keys (a primary key, a unique `_id`) frees an ended lease and inserts in two steps. */
export interface InsertingLeaseRows extends LeaseRowReads {
  /** Deletes `key`'s row if its lease ended by `now`: a row renewed or taken again since stays. */
  dropEnded(key: string, now: number): Promise<void>;
  /**
   * Inserts a row for `key` holding `token` until `leaseEnd`, unless `key` has a row; true when inserted. Of
   * concurrent inserts, one at most succeeds.
   */
  insertIfAbsent(key: string, token: string, leaseEnd: number): Promise<boolean>;
}

/** A store with compare-and-set (a transaction, say) takes a free key in one step. */
export interface SwappingLeaseRows extends LeaseRowReads {
  /**
   * Writes `key`'s row holding `token` until `leaseEnd` if `key` is free at `now` (no row, or one whose lease ended),
   * as one atomic step; true when written. Of concurrent writers, one at most succeeds.
   */
  setIfFree(key: string, token: string, now: number, leaseEnd: number): Promise<boolean>;
}

/** The primitive operations on lease rows from which a {@link RowLeaseStore} makes a {@link LeaseStore}. */
export type LeaseRows = InsertingLeaseRows | SwappingLeaseRows;

/**
 * A {@link LeaseStore} over the {@link LeaseRows} of a store without native TTL: a take reads the row, gives up on a
 * live lease, and otherwise takes the free key, over a lease that ended if need be.
 */
export class RowLeaseStore implements LeaseStore {
  readonly #rows: LeaseRows;
  readonly #timers: Timers;

  /** `timers`: the clock leases start and end on. */
  constructor(rows: LeaseRows, timers: Timers = systemTimers) {
    this.#rows = rows;
    this.#timers = timers;
  }

  async take(key: string, token: string, leaseMs: number): Promise<boolean> {
    const now = this.#timers.now();
    // A read first: takers that find a live lease write nothing, so they neither queue for the store's write lock
    // nor start a transaction.
    const leaseEnd = await this.#rows.leaseEndOf(key);
    if (leaseEnd !== undefined && leaseEnd > now) return false;
    if ('setIfFree' in this.#rows) return this.#rows.setIfFree(key, token, now, now + leaseMs);
    // Two steps, each atomic: the drop spares a lease taken or renewed since the read, and of the takers that find
    // the key free, one insert wins.
    if (leaseEnd !== undefined) await this.#rows.dropEnded(key, now);
    return this.#rows.insertIfAbsent(key, token, now + leaseMs);
  }

  renew(key: string, token: string, leaseMs: number): Promise<boolean> {
    return this.#rows.extend(key, token, this.#timers.now() + leaseMs);
  }

  release(key: string, token: string): Promise<boolean> {
    return this.#rows.remove(key, token);
  }

  owner(key: string): Promise<string | undefined> {
    return this.#rows.ownerOf?.(key) ?? Promise.resolve(undefined);
  }
}
