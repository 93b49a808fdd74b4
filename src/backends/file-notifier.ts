/**
 * Notifications between the processes of one host (LISTEN/NOTIFY for SQLite; lock releases for memcached,
 * Datastore and MongoDB): a notification is a line appended to a file, and listeners watch that file (inotify on Linux) and
 * read the lines added since they last looked. A
 * notification that is missed (the file was just restarted, or the file system does not report changes) only
 * leaves a lock waiter to its capped poll.
 * @module
 */
import { watch, type FSWatcher } from 'node:fs';
import { appendFile, open, stat, truncate } from 'node:fs/promises';

/** The file starts again from empty once it is this large, so it never grows without bound. */
const MAX_BYTES = 64 * 1024;
/** How often a notifier checks that size (a few lines past it do no harm). */
const SIZE_CHECK_EVERY = 32;

export class FileNotifier {
  readonly #path: string;
  readonly #handlers = new Map<string, (payload: string) => void>();
  #watching: Promise<void> | undefined;
  #watcher: FSWatcher | undefined;
  /** How far this process has read the file. */
  #offset = 0;
  /** Notifications this process appended. */
  #sent = 0;
  #reading: Promise<void> | undefined;
  #readAgain = false;

  constructor(path: string) {
    this.#path = path;
  }

  /** Calls `onMessage` with the payload of each notification on `channel`; resolves once watching. */
  async listen(channel: string, onMessage: (payload: string) => void): Promise<void> {
    this.#handlers.set(channel, onMessage);
    this.#watching ??= this.#watch().catch((error: unknown) => {
      this.#watching = undefined;
      throw error;
    });
    await this.#watching;
  }

  async #watch(): Promise<void> {
    // Created if missing; only what is appended from now on is news.
    const handle = await open(this.#path, 'a');
    try {
      this.#offset = (await handle.stat()).size;
    } finally {
      await handle.close();
    }
    const watcher = watch(this.#path, () => {
      this.#readNews();
    });
    watcher.on('error', () => {
      // The next listen() watches again; meanwhile waiters poll.
      watcher.close();
      this.#watcher = undefined;
      this.#watching = undefined;
    });
    watcher.unref();
    this.#watcher = watcher;
  }

  /** Appends a notification on `channel`. */
  async notify(channel: string, payload: string): Promise<void> {
    // The size is checked on one notification in SIZE_CHECK_EVERY: the others cost one append.
    this.#sent += 1;
    if (this.#sent % SIZE_CHECK_EVERY === 1) {
      const size = await stat(this.#path).then(
        (stats) => stats.size,
        () => 0,
      );
      if (size > MAX_BYTES) await truncate(this.#path, 0).catch(() => undefined);
    }
    // One short line in one append: it arrives whole, whoever else is appending.
    await appendFile(this.#path, `${JSON.stringify([channel, payload])}\n`);
  }

  /** Reads what was appended; a change seen while reading is read after it. */
  #readNews(): void {
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    this.#reading = this.#read()
      .catch(() => undefined)
      .finally(() => {
        this.#reading = undefined;
        if (this.#readAgain) {
          this.#readAgain = false;
          this.#readNews();
        }
      });
  }

  async #read(): Promise<void> {
    const handle = await open(this.#path, 'r');
    try {
      const { size } = await handle.stat();
      // Started again by a notifier: read it from the start.
      if (size < this.#offset) this.#offset = 0;
      if (size === this.#offset) return;
      const buffer = Buffer.alloc(size - this.#offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.#offset);
      const complete = buffer.subarray(0, buffer.subarray(0, bytesRead).lastIndexOf(0x0a) + 1);
      this.#offset += complete.length;
      for (const line of complete.toString('utf8').split('\n')) {
        if (line !== '') this.#deliver(line);
      }
    } finally {
      await handle.close();
    }
  }

  #deliver(line: string): void {
    try {
      const [channel, payload] = JSON.parse(line) as [string, string];
      this.#handlers.get(channel)?.(payload);
    } catch {
      // A line cut by a restart of the file: skipped.
    }
  }

  close(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#watching = undefined;
  }
}
