/**
 * Notifications between the processes of one host (LISTEN/NOTIFY for SQLite; lock releases for memcached,
 * Datastore and MongoDB): a notification is a line appended to a file, and listeners watch that file (inotify on Linux) and
 * read the lines added since they last looked. A
 * notification that is missed (the file was just restarted, or the file system does not report changes) only
 * leaves a lock waiter to its capped poll.
 * @module
 */
import { constants, watch, type FSWatcher } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';

/** The file starts again from empty once it is this large, so it never grows without bound. */
const MAX_BYTES = 64 * 1024;
/** How much a notifier appends between checks of that size (a few lines past it do no harm). */
const SIZE_CHECK_BYTES = 4096;
// The file is never reached through a symbolic link: one planted at its name must not make this process write to,
// or truncate, a file the planter chose. It is created readable and writable by its owner only.
const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;
const FILE_MODE = 0o600;

export class FileNotifier {
  readonly #path: string;
  readonly #handlers = new Map<string, (payload: string) => void>();
  #watching: Promise<void> | undefined;
  #watcher: FSWatcher | undefined;
  /** How far this process has read the file. */
  #offset = 0;
  /** Bytes this process appended since it last checked the file. */
  #bytesSinceCheck = SIZE_CHECK_BYTES;
  /** The file, open for appending, kept open between notifications. */
  #appender: Promise<FileHandle> | undefined;
  /** Lines waiting for the write in progress to finish; written together by the next one. */
  #queued = '';
  /** The write that will carry the queued lines. */
  #nextWrite: Promise<void> | undefined;
  /** The last write started. */
  #lastWrite: Promise<void> = Promise.resolve();
  #reading: Promise<void> | undefined;
  #readAgain = false;
  #closed = false;

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
    const handle = await open(this.#path, APPEND_FLAGS, FILE_MODE);
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

  /**
   * Appends a notification on `channel`; resolves once it is written. Notifications sent while a write is in
   * progress go out together in the next one: under load, a notification costs one line in a shared write.
   */
  notify(channel: string, payload: string): Promise<void> {
    // Closed: a lock released after its store was closed has no one to tell, and must not open the file again.
    if (this.#closed) return Promise.resolve();
    this.#queued += `${JSON.stringify([channel, payload])}\n`;
    this.#nextWrite ??= this.#writeAfter(this.#lastWrite);
    return this.#nextWrite;
  }

  /** A write of the lines queued until `previous` settles. */
  #writeAfter(previous: Promise<void>): Promise<void> {
    const write = previous
      .catch(() => undefined)
      .then(() => {
        const lines = this.#queued;
        this.#queued = '';
        this.#nextWrite = undefined;
        return this.#append(lines);
      });
    this.#lastWrite = write;
    return write;
  }

  /** Whole lines in one write to a file opened for appending: they arrive whole, whoever else is appending. */
  async #append(lines: string): Promise<void> {
    // Checked after every SIZE_CHECK_BYTES appended (and first): the other writes cost one write.
    if (this.#bytesSinceCheck >= SIZE_CHECK_BYTES) {
      this.#bytesSinceCheck = 0;
      await this.#checkFile();
    }
    this.#bytesSinceCheck += Buffer.byteLength(lines);
    const appender = this.#openAppender();
    try {
      await (await appender).write(lines);
    } catch (error) {
      // Opened again on the next write.
      if (this.#appender === appender) this.#appender = undefined;
      void appender.then((handle) => handle.close()).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Opens the file again if it was removed or replaced (by a link, say: the open then fails rather than follow it),
   * and starts it again once it is too large, through the open file, never by its name.
   */
  async #checkFile(): Promise<void> {
    const current = await lstat(this.#path).catch(() => undefined);
    const appender = this.#appender;
    if (appender) {
      const opened = await appender.then((handle) => handle.stat()).catch(() => undefined);
      if (current === undefined || opened?.ino !== current.ino || opened.dev !== current.dev) {
        this.#appender = undefined;
        void appender.then((handle) => handle.close()).catch(() => undefined);
      }
    }
    if (!current || current.size <= MAX_BYTES) return;
    await (await this.#openAppender()).truncate(0);
  }

  /** The file open for appending (opened once; an open that failed is tried again by the next write). */
  #openAppender(): Promise<FileHandle> {
    if (!this.#appender) {
      const opening = open(this.#path, APPEND_FLAGS, FILE_MODE);
      this.#appender = opening;
      opening.catch(() => {
        if (this.#appender === opening) this.#appender = undefined;
      });
    }
    return this.#appender;
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
    const handle = await open(this.#path, READ_FLAGS);
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

  /** Stops watching (notifications can still be sent). */
  unwatch(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#watching = undefined;
  }

  /** Stops watching and closes the file. */
  close(): void {
    this.#closed = true;
    this.unwatch();
    const appender = this.#appender;
    this.#appender = undefined;
    void appender?.then((handle) => handle.close()).catch(() => undefined);
  }
}
