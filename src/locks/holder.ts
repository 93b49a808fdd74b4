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
  const [, pidText, host] = token.split(':');
  if (host !== HOST_ID || pidText === undefined || !/^\d+$/.test(pidText)) return false;
  const pid = Number(pidText);
  return pid !== process.pid && !processExists(pid);
}
