/**
 * Creation locks in the same bucket as the entries, for the kit's LeaseLockProvider: each lock is a KV key holding
 * its holder's token and the end of its lease. Every write is checked against the revision it was decided on, so of
 * two processes (or hosts) that race, exactly one wins:
 *
 * - take: a read, then `kv.create` when the key is absent (create-if-absent), or a `kv.update` at the revision read
 *   when it holds a released lock's delete marker or a lease that ran out. A waiter that finds a live lease writes
 *   nothing: one round trip per poll;
 * - renew: a `kv.update` at the revision the holder last wrote;
 * - release: a `kv.delete` at that revision, whose delete marker wakes the waiters of every process through a watch.
 *
 * The holder remembers the revision of each lock it holds, so renewing and releasing need no read first. A write
 * at a revision that is no longer the key's fails: that lease was taken over after it ran out.
 * @module
 */
import type { KV, KvEntry } from '@nats-io/kv';
import { ReleaseWaiters, type LeaseStore, type Timers } from 'beaker-ts/backends/kit';
import { LOCK_PREFIX } from './names.js';

/** The updates a KV watch yields. */
type Watch = Awaited<ReturnType<KV['watch']>>;

/** What a lock's value holds. */
interface Lease {
  token: string;
  /** End of the lease, in ms since the epoch, by the holder's clock. */
  expiresAt: number;
}

/**
 * JetStream's codes for "the key is not at the revision you expected": the compare-and-set lost.
 * (10164 is the same answer when the server cannot tell the last revision.)
 */
const LOST_THE_RACE = new Set([10071, 10164]);

function lostTheRace(error: unknown): boolean {
  return LOST_THE_RACE.has((error as { code?: unknown } | null)?.code as number);
}

function leaseOf(entry: KvEntry): Lease | undefined {
  try {
    const lease = entry.json<Partial<Lease>>();
    return typeof lease.token === 'string' && typeof lease.expiresAt === 'number'
      ? (lease as Lease)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Runs a compare-and-set write: its new revision, or undefined when another writer changed the key first. */
async function compareAndSet(write: () => Promise<number | undefined>): Promise<number | undefined> {
  try {
    return await write();
  } catch (error) {
    if (lostTheRace(error)) return undefined;
    throw error;
  }
}

/** A lock this store holds: its token, and the revision its last write made. */
interface Held {
  token: string;
  revision: number;
}

export class NatsKvLeaseStore implements LeaseStore {
  readonly #kv: KV;
  readonly #now: () => number;
  readonly #waiters: ReleaseWaiters;
  /** The locks taken here and not yet released (or lost), by key. */
  readonly #held = new Map<string, Held>();
  /** The watch on every lock key, opened by the first wait; undefined until then, and after it failed or ended. */
  #releases: Promise<Watch> | undefined;
  #closed = false;

  /** `timers`: the clock of the leases and what ends the waits no release cuts short (absent: the host's). */
  constructor(kv: KV, timers?: Timers) {
    this.#kv = kv;
    this.#now = timers ? () => timers.now() : Date.now;
    this.#waiters = new ReleaseWaiters(timers);
  }

  #lease(token: string, leaseMs: number): string {
    const lease: Lease = { token, expiresAt: this.#now() + leaseMs };
    return JSON.stringify(lease);
  }

  async take(key: string, token: string, leaseMs: number): Promise<boolean> {
    const current = await this.#kv.get(key);
    if (current && !this.isLeftover(current)) return false;
    const lease = this.#lease(token, leaseMs);
    const revision = await compareAndSet(() =>
      current ? this.#kv.update(key, lease, current.revision) : this.#kv.create(key, lease),
    );
    if (revision === undefined) return false;
    this.#held.set(key, { token, revision });
    return true;
  }

  async renew(key: string, token: string, leaseMs: number): Promise<boolean> {
    const revision = await this.#writeAsHolder(key, token, (at) =>
      this.#kv.update(key, this.#lease(token, leaseMs), at),
    );
    if (revision === undefined) this.#held.delete(key);
    else this.#held.set(key, { token, revision });
    return revision !== undefined;
  }

  async release(key: string, token: string): Promise<boolean> {
    const revision = await this.#writeAsHolder(key, token, async (at) => {
      await this.#kv.delete(key, { previousSeq: at });
      return at;
    });
    this.#held.delete(key);
    return revision !== undefined;
  }

  /**
   * Writes `key` while it holds `token`, at the revision remembered from the holder's last write; when the key has
   * moved on since (or nothing is remembered), at the revision read now if the key still holds the token: a write of
   * this holder's whose answer was lost moved it. Tokens are unique, so a key holding it was written by its holder.
   * Undefined when the lease is no longer the holder's.
   */
  async #writeAsHolder(
    key: string,
    token: string,
    write: (revision: number) => Promise<number>,
  ): Promise<number | undefined> {
    const remembered = this.#held.get(key);
    if (remembered?.token === token) {
      const revision = await compareAndSet(() => write(remembered.revision));
      if (revision !== undefined) return revision;
    }
    const current = await this.#kv.get(key);
    if (current?.operation !== 'PUT' || leaseOf(current)?.token !== token) return undefined;
    return compareAndSet(() => write(current.revision));
  }

  /**
   * Is `lock` free to take: a released lock's delete marker, a lease that ran out (its holder stopped), or a value
   * that is no lease (damaged, which would otherwise block the entry for good)?
   */
  isLeftover(lock: KvEntry): boolean {
    if (lock.operation !== 'PUT') return true;
    const lease = leaseOf(lock);
    return lease === undefined || lease.expiresAt <= this.#now();
  }

  /**
   * Resolves when a lock's delete marker says it was released, or after `ms` (the caller then polls: a holder
   * that was killed releases nothing, its lease just runs out).
   */
  waitForRelease(key: string, ms: number): Promise<void> {
    const released = this.#waiters.wait(key, ms);
    this.#watchReleases();
    return released;
  }

  /** Opens the watch on every lock key once, and wakes a lock's waiters when it is deleted. */
  #watchReleases(): void {
    if (this.#releases || this.#closed) return;
    const opened = this.#kv.watch({ key: `${LOCK_PREFIX}>`, include: 'updates' });
    this.#releases = opened;
    void opened
      .then(async (updates) => {
        for await (const update of updates) {
          if (update.operation !== 'PUT') this.#waiters.wake(update.key);
        }
      })
      .catch(() => {
        // The server was unreachable, or the connection closed: waiters poll meanwhile.
      })
      .finally(() => {
        // The next wait opens a new watch.
        if (this.#releases === opened) this.#releases = undefined;
      });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const watch = this.#releases;
    this.#releases = undefined;
    (await watch?.catch(() => undefined))?.stop();
  }
}
