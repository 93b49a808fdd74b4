/**
 * Who holds a lock: each lock records its holder's process and host, so that a waiter on the same host can tell a
 * holder that was killed (SIGKILL, a crash) from one that is working, and take the lock over at once instead of
 * waiting for the lease to end. Only a holder on this host, in this PID namespace, whose process is gone counts as
 * dead; anything else (another host, a reused PID, a token of another format) is left to the lease.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/** Reads a piece of the host's identity, or '' where the system has none (not Linux). */
function hostFact(read: () => string): string {
  try {
    return read().trim();
  } catch {
    return '';
  }
}

/**
 * This host and PID namespace, as a short digest: two containers with one hostname but their own PIDs differ, and so
 * does the same machine after a reboot.
 */
const HOST_ID = createHash('sha256')
  .update(hostname())
  .update('\u0000')
  .update(hostFact(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')))
  .update('\u0000')
  .update(hostFact(() => readlinkSync('/proc/self/ns/pid')))
  .digest('hex')
  .slice(0, 16);

/** A new owner token for a lock held by this process: random, then this process and host. */
export function newHolderToken(): string {
  return `${randomBytes(16).toString('hex')}:${String(process.pid)}:${HOST_ID}`;
}

/** The process id a token names, or undefined for a token of another format. */
export function holderPid(token: string): number | undefined {
  const pidText = token.split(':')[1];
  return pidText !== undefined && /^\d+$/.test(pidText) ? Number(pidText) : undefined;
}

/**
 * When a waiter looks at its lock's holder: at its first failed try, then at most once a second. A look is a store
 * read (or a file read), and waiters poll every few milliseconds; a holder dies rarely.
 */
export class HolderChecks {
  static readonly INTERVAL_MS = 1000;
  #next = Number.NEGATIVE_INFINITY;

  /** Is a look due at `now`? Saying yes schedules the next one. */
  due(now: number): boolean {
    if (now < this.#next) return false;
    this.#next = now + HolderChecks.INTERVAL_MS;
    return true;
  }
}

/** Is there a process `pid` here? A process of another user answers EPERM: it exists. */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Was the lock holding `token` taken by a process of this host that no longer exists? */
export function isDeadLocalHolder(token: string): boolean {
  const pid = holderPid(token);
  if (token.split(':')[2] !== HOST_ID || pid === undefined) return false;
  return pid !== process.pid && !processExists(pid);
}
