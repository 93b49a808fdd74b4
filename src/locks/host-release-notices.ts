/**
 * Lock-release notices between the processes of one host, for stores that cannot notify waiters themselves
 * (memcached, Datastore, MongoDB): a release appends a line to a file in the OS temporary directory, named after the
 * store, that processes watch while they have waiters (so a busy host's releases are not read by every idle
 * process). Waiters on other hosts, or whose notice is missed, keep their capped poll.
 * @module
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileNotifier } from '../backends/file-notifier.js';
import { ReleaseWaiters } from './release-waiters.js';

const CHANNEL = 'released';

export class HostReleaseNotices {
  readonly #notifier: FileNotifier;
  readonly #waiters = new ReleaseWaiters();
  #listening: Promise<boolean> | undefined;

  /** `store` names the store (its type and address): processes that name it alike share the notices. */
  constructor(store: string) {
    const digest = createHash('sha256').update(store).digest('hex').slice(0, 32);
    this.#notifier = new FileNotifier(join(tmpdir(), `beaker-ts-locks-${digest}`));
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
    await this.#notifier.notify(CHANNEL, key).catch(() => undefined);
  }

  /** Watching starts with the first waiter; if it cannot (a file another user owns, say), waiters only poll. */
  #listen(): Promise<boolean> {
    this.#listening ??= this.#notifier
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
    this.#notifier.unwatch();
    this.#listening = undefined;
  }

  close(): void {
    this.#notifier.close();
    this.#listening = undefined;
  }
}
