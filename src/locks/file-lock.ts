/**
 * Cross-process locks under a directory (`lock_dir`), through proper-lockfile: a lock is a directory created
 * atomically with mkdir, kept alive by its holder and taken over when its holder stopped refreshing it for the lease
 * (a killed process). Released locks are removed, so lock files do not pile up (Beaker #124). Next to each lock a
 * file names its holder: a waiter whose host is the holder's takes the lock over at once when that process is gone.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { sleep, systemTimers, type Timers } from '../shared/timers.js';
import type { AcquireOptions, LockHandle, LockProvider } from './contract.js';
import { HolderChecks, isDeadLocalHolder, newHolderToken } from './holder.js';

/** Options of {@link FileLockProvider}. */
export interface FileLockOptions {
  /** How long a lock whose holder stopped refreshing it stays valid, in ms (at least 5000). */
  leaseMs?: number;
  /** First wait between two tries, in ms; it doubles up to `maxPollMs`. */
  pollMs?: number;
  /** Longest wait between two tries, in ms. */
  maxPollMs?: number;
  /** Told when a held lock was taken over (its holder stalled past the lease). */
  onCompromised?: (error: Error) => void;
  /** What times the waits between tries (fake ones in tests); proper-lockfile's own refresh runs on real time. */
  timers?: Timers;
}

const MIN_LEASE_MS = 5000;
/** The shortest lease one acquire may ask for: proper-lockfile's own floor for a lock's staleness. */
const MIN_REQUESTED_LEASE_MS = 2000;

/** Where the lock `name` lives under `dir`. */
export function lockPath(dir: string, name: string): string {
  return join(dir, `${createHash('sha256').update(name).digest('hex').slice(0, 40)}.lock`);
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

export class FileLockProvider implements LockProvider {
  readonly #dir: string;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #maxPollMs: number;
  readonly #onCompromised: (error: Error) => void;
  readonly #timers: Timers;

  constructor(dir: string, options: FileLockOptions = {}) {
    this.#dir = dir;
    this.#leaseMs = Math.max(MIN_LEASE_MS, options.leaseMs ?? 10_000);
    this.#pollMs = options.pollMs ?? 10;
    this.#maxPollMs = options.maxPollMs ?? 50;
    this.#onCompromised = options.onCompromised ?? (() => undefined);
    this.#timers = options.timers ?? systemTimers;
  }

  async acquire(name: string, waitMs: number, options?: AcquireOptions): Promise<LockHandle | undefined> {
    const leaseMs =
      options?.leaseMs === undefined ? this.#leaseMs : Math.max(MIN_REQUESTED_LEASE_MS, options.leaseMs);
    const path = lockPath(this.#dir, name);
    const deadline = this.#timers.now() + waitMs;
    let pause = this.#pollMs;
    const holderChecks = new HolderChecks();
    for (;;) {
      const release = await this.#tryLock(path, leaseMs);
      if (release) return this.#held(path, release);
      if (holderChecks.due(this.#timers.now()) && (await this.#claimedFromDeadHolder(path))) continue;
      const left = deadline - this.#timers.now();
      if (left <= 0) return undefined;
      // Jitter keeps processes that wait on one lock from retrying in step.
      await sleep(this.#timers, Math.min(left, pause * (0.5 + Math.random())));
      pause = Math.min(this.#maxPollMs, pause * 2);
    }
  }

  /** A lock just taken: its holder file is written, and removed before the lock (so it never names the next one). */
  async #held(path: string, release: () => Promise<void>): Promise<LockHandle> {
    const holderFile = `${path}.holder`;
    await writeFile(holderFile, newHolderToken()).catch(() => undefined);
    return {
      release: async () => {
        await unlink(holderFile).catch(() => undefined);
        await release().catch(() => undefined);
      },
    };
  }

  /**
   * When the lock's holder file names a process of this host that is gone, claims that file (a rename: of several
   * waiters one wins) and marks the lock stale, so that the next try takes it over now rather than after the lease.
   */
  async #claimedFromDeadHolder(path: string): Promise<boolean> {
    const holderFile = `${path}.holder`;
    const holder = await readFile(holderFile, 'utf8').catch(() => undefined);
    if (holder === undefined || !isDeadLocalHolder(holder)) return false;
    const claimed = `${holderFile}.${randomBytes(6).toString('hex')}.claimed`;
    try {
      await rename(holderFile, claimed);
    } catch {
      return false;
    }
    const claimedHolder = await readFile(claimed, 'utf8').catch(() => undefined);
    if (claimedHolder !== holder) {
      // A holder wrote its file between the read and the rename: give it back.
      await rename(claimed, holderFile).catch(() => undefined);
      return false;
    }
    await unlink(claimed).catch(() => undefined);
    await utimes(path, 0, 0).catch(() => undefined);
    return true;
  }

  /** One attempt; resolves to the release function, or undefined when another holder has the lock. */
  async #tryLock(path: string, leaseMs: number): Promise<(() => Promise<void>) | undefined> {
    const options: lockfile.LockOptions = {
      realpath: false,
      lockfilePath: path,
      stale: leaseMs,
      update: Math.floor(leaseMs / 3),
      retries: 0,
      onCompromised: this.#onCompromised,
    };
    try {
      return await lockfile.lock(path, options);
    } catch (error) {
      if (errorCode(error) === 'ELOCKED') return undefined;
      if (errorCode(error) !== 'ENOENT') throw error;
      // The lock directory is missing (first use, or removed at run time): create it and try again.
      await mkdir(this.#dir, { recursive: true });
      try {
        return await lockfile.lock(path, options);
      } catch (retryError) {
        if (errorCode(retryError) === 'ELOCKED') return undefined;
        throw retryError;
      }
    }
  }
}
