/**
 * Lock-release notices between the processes of one host, for stores that cannot notify waiters themselves
 * (memcached, Datastore, MongoDB): a release appends a line to a file named after the store, that processes watch
 * while they have waiters (so a busy host's releases are not read by every idle process). Waiters on other hosts,
 * or whose notice is missed, keep their capped poll.
 *
 * The files live in a directory of the OS temporary directory that belongs to this user alone (`beaker-ts-<uid>`,
 * mode 0700): in the shared temporary directory itself, anyone could plant a link at a file's predictable name. A
 * directory of that name that is a link, belongs to another user or lets others in is not used: notices are off
 * and waiters poll.
 * @module
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileNotifier } from './file-notifier.js';
import { ReleaseWaiters } from './release-waiters.js';
import { systemTimers, type Timers } from '../shared/timers.js';

const CHANNEL = 'released';

/** This user's private directory under `parent` (made if missing), or undefined when it cannot be trusted. */
export function privateNoticeDirectory(parent: string = tmpdir()): string | undefined {
  const uid = process.getuid?.() ?? 0;
  const dir = join(parent, `beaker-ts-${String(uid)}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
  }
  const found = lstatSync(dir, { throwIfNoEntry: false });
  const trusted = found?.isDirectory() === true && found.uid === uid && (found.mode & 0o077) === 0;
  return trusted ? dir : undefined;
}

/** Release notices among the processes of one host for one store, through a watched file (see the module). */
export class HostReleaseNotices {
  readonly #notifier: FileNotifier | undefined;
  readonly #waiters: ReleaseWaiters;
  #listening: Promise<boolean> | undefined;

  /**
   * `store` names the store (its type and address): processes that name it alike share the notices.
   * `directory`: where the files are (default: this user's private directory; undefined turns notices off).
   * `timers`: what ends the waits no notice cuts short.
   */
  constructor(
    store: string,
    directory: string | undefined = privateNoticeDirectory(),
    timers: Timers = systemTimers,
  ) {
    this.#waiters = new ReleaseWaiters(timers);
    const digest = createHash('sha256').update(store).digest('hex').slice(0, 32);
    this.#notifier =
      directory === undefined ? undefined : new FileNotifier(join(directory, `locks-${digest}`));
  }

  /** Resolves when a process of this host announces the release of `key`, or after `ms`. */
  async waitForRelease(key: string, ms: number): Promise<void> {
    const released = this.#waiters.wait(key, ms);
    await this.#listen();
    await released;
    // Earlier notices mean nothing to a later waiter (it tries the lock before it waits): stop reading them.
    if (!this.#waiters.has()) this.#unlisten();
  }

  /** Tells the host's waiting processes that `key` was released; never rejects. */
  async announce(key: string): Promise<void> {
    await this.#notifier?.notify(CHANNEL, key).catch(() => undefined);
  }

  /** Watching starts with the first waiter; if it cannot (a file another user owns, say), waiters only poll. */
  #listen(): Promise<boolean> {
    const notifier = this.#notifier;
    if (!notifier) return Promise.resolve(false);
    this.#listening ??= notifier
      .listen(CHANNEL, (key) => {
        this.#waiters.wake(key);
      })
      .then(
        () => true,
        () => false,
      );
    return this.#listening;
  }

  #unlisten(): void {
    this.#notifier?.unwatch();
    this.#listening = undefined;
  }

  close(): void {
    this.#notifier?.close();
    this.#listening = undefined;
  }
}
