/**
 * `file`: one file per entry under `<data_dir>/container_file` (or `file_dir`), so the cost of a write does not grow
 * with the number of keys in a namespace. Names are SHA-256 digests: any key (`../`, very long, non-ASCII) is safe.
 * Writes go to a temporary file that is renamed over the entry, so a process killed mid-write leaves the old or the
 * new entry, never a torn one. Expired entries and leftover temporary files are removed by `prune()`. Listing,
 * pruning and clearing read directories as they come and open a bounded number of files at a time.
 *
 * Layout: `<root>/<ns[0:2]>/<ns>/<key>.cache` where `ns` and `key` are hex digests; each file holds one JSON header
 * line (`{"k": key, "x": hard expiry in ms or null}`) followed by the data.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Dir } from 'node:fs';
import { mkdir, opendir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendError } from '../../shared/errors.js';
import type { FileLockProvider } from '../../locks/file-lock.js';
import type { Backend, BackendContext, BackendFactory, SetOptions } from '../contract.js';
import { forEachBounded, mapBounded } from '../kit/bounded.js';
import { sha256Hex } from '../kit/digest.js';
import { ON_DISK_CAPABILITIES, dataDirectory, hostLocks } from '../kit/on-disk.js';

/** Options of the file back-end. */
export interface FileBackendOptions {
  /** Parent of the `container_file` data directory. */
  data_dir?: string | null;
  /** The data directory itself (instead of `<data_dir>/container_file`). */
  file_dir?: string | null;
  /** Directory of the cross-process creation locks (default `<data_dir>/container_file_lock`). */
  lock_dir?: string | null;
  /** Lease of a creation lock whose holder stopped, in seconds. */
  lock_lease?: number | null;
  /** Beaker's file-name digest switch; files are always named by digest here, so it is accepted and ignored. */
  digest_filenames?: boolean | string | null;
}

interface Header {
  /** The key as given. */
  k: string;
  /** Hard expiry in ms since the epoch, or null. */
  x: number | null;
}

const ENTRY_SUFFIX = '.cache';
const TEMP_SUFFIX = '.tmp';
/** Temporary files older than this are leftovers of a killed writer. */
const TEMP_FILE_MAX_AGE_MS = 60_000;
/** Files that keys(), getMany() and prune() read at once: well under any open-file limit, enough to keep the disk busy. */
const OPEN_FILES_AT_ONCE = 32;
/** In the name of a namespace directory renamed aside by clear(), until it is removed. */
const CLEARED_MARK = '.cleared-';

function tryUnlink(path: string): Promise<boolean> {
  return unlink(path).then(
    () => true,
    () => false,
  );
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export class FileBackend implements Backend {
  readonly type = 'file';
  readonly capabilities = ON_DISK_CAPABILITIES;
  readonly locks: FileLockProvider | undefined;
  readonly #root: string;
  readonly #context: BackendContext;
  #tempCounter = 0;
  /** Cleared namespaces being removed in the background. */
  readonly #removals = new Set<Promise<void>>();

  constructor(options: FileBackendOptions, context: BackendContext) {
    this.#root = dataDirectory(options as Record<string, unknown>, 'file_dir', 'container_file');
    this.#context = context;
    this.locks = hostLocks(options as Record<string, unknown>, 'container_file', 'file', context);
  }

  /** The directory of a namespace. */
  #namespaceDir(namespace: string): string {
    const id = sha256Hex(namespace);
    return join(this.#root, id.slice(0, 2), id);
  }

  #entryPath(namespace: string, key: string): string {
    return join(this.#namespaceDir(namespace), `${sha256Hex(key)}${ENTRY_SUFFIX}`);
  }

  /** Reads one entry file; undefined when missing, expired or unreadable (reported). */
  async #read(
    path: string,
    namespace: string,
    now = this.#context.clock(),
  ): Promise<{ header: Header; data: string } | undefined> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw new BackendError('file', `cannot read ${path}`, { cause: error });
    }
    const newline = text.indexOf('\n');
    let header: Header | undefined;
    try {
      header = newline < 0 ? undefined : (JSON.parse(text.slice(0, newline)) as Header);
    } catch {
      header = undefined;
    }
    if (typeof header?.k !== 'string') {
      this.#context.report({
        type: 'corrupt-entry',
        backend: 'file',
        namespace,
        message: `unreadable entry file ${path}`,
      });
      return undefined;
    }
    if (header.x !== null && header.x <= now) return undefined;
    return { header, data: text.slice(newline + 1) };
  }

  async get(namespace: string, key: string): Promise<string | undefined> {
    return (await this.#read(this.#entryPath(namespace, key), namespace))?.data;
  }

  /** One file read per key, at most {@link OPEN_FILES_AT_ONCE} open at a time; expiry checked at one instant. */
  async getMany(namespace: string, keys: readonly string[]): Promise<(string | undefined)[]> {
    const now = this.#context.clock();
    return mapBounded(
      keys,
      OPEN_FILES_AT_ONCE,
      async (key) => (await this.#read(this.#entryPath(namespace, key), namespace, now))?.data,
    );
  }

  async set(namespace: string, key: string, data: string, options: SetOptions = {}): Promise<void> {
    const header: Header = {
      k: key,
      x: options.ttlMs === undefined ? null : this.#context.clock() + options.ttlMs,
    };
    const path = this.#entryPath(namespace, key);
    const temp = `${path}.${process.pid}-${(this.#tempCounter += 1)}-${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
    const content = `${JSON.stringify(header)}\n${data}`;
    try {
      await this.#writeNew(temp, content, namespace);
      await rename(temp, path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw new BackendError('file', `cannot write ${path}`, { cause: error });
    }
  }

  /** Writes a new file, creating the namespace directory when it is missing (first write, or removed meanwhile). */
  async #writeNew(path: string, content: string, namespace: string): Promise<void> {
    try {
      await writeFile(path, content, { flag: 'wx' });
    } catch (error) {
      if (!isMissing(error)) throw error;
      await mkdir(this.#namespaceDir(namespace), { recursive: true });
      await writeFile(path, content, { flag: 'wx' });
    }
  }

  /** Unlinks the entry's file: true when there was one (an expired file not pruned yet counts), no read first. */
  async delete(namespace: string, key: string): Promise<boolean> {
    const path = this.#entryPath(namespace, key);
    try {
      await unlink(path);
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw new BackendError('file', `cannot delete ${path}`, { cause: error });
    }
  }

  async keys(namespace: string): Promise<string[]> {
    const dir = this.#namespaceDir(namespace);
    const keys: string[] = [];
    await this.#forEachEntryName(dir, async (name) => {
      if (!name.endsWith(ENTRY_SUFFIX)) return;
      const entry = await this.#read(join(dir, name), namespace);
      if (entry) keys.push(entry.header.k);
    });
    return keys;
  }

  async clear(namespace: string): Promise<void> {
    const dir = this.#namespaceDir(namespace);
    // Renaming makes the clear atomic for readers and O(1) for the caller; the renamed directory is removed in the
    // background (close() waits for it, and prune() removes what a stopped process left).
    const doomed = `${dir}${CLEARED_MARK}${String(process.pid)}-${randomBytes(4).toString('hex')}`;
    try {
      await rename(dir, doomed);
    } catch (error) {
      if (isMissing(error)) return;
      throw new BackendError('file', `cannot clear ${dir}`, { cause: error });
    }
    const removal = rm(doomed, { recursive: true, force: true }).catch((error: unknown) => {
      this.#context.report({
        type: 'backend-warning',
        backend: 'file',
        namespace,
        message: `cannot remove the cleared directory ${doomed}; prune() will`,
        error,
      });
    });
    this.#removals.add(removal);
    void removal.finally(() => this.#removals.delete(removal));
  }

  async prune(): Promise<number> {
    let removed = 0;
    const now = this.#context.clock();
    for await (const shard of this.#directoryNames(this.#root)) {
      for await (const name of this.#directoryNames(join(this.#root, shard))) {
        const dir = join(this.#root, shard, name);
        if (name.includes(CLEARED_MARK)) {
          await rm(dir, { recursive: true, force: true });
          continue;
        }
        removed += await this.#pruneNamespace(dir, now);
        // Fails (and is ignored) unless the directory is empty; writers re-create it when needed.
        await rmdir(dir).catch(() => undefined);
      }
    }
    return removed;
  }

  async #pruneNamespace(dir: string, now: number): Promise<number> {
    let removed = 0;
    await this.#forEachEntryName(dir, async (name) => {
      if (await this.#isPrunable(join(dir, name), name, now)) removed += 1;
    });
    return removed;
  }

  /** Removes the file `name` of a namespace when it has expired or is a writer's old temporary file. */
  async #isPrunable(path: string, name: string, now: number): Promise<boolean> {
    if (name.endsWith(TEMP_SUFFIX)) {
      // File times are real time, whatever clock the back-end was given.
      const info = await stat(path).catch(() => undefined);
      return (
        info !== undefined && Date.now() - info.mtimeMs > TEMP_FILE_MAX_AGE_MS && (await tryUnlink(path))
      );
    }
    return name.endsWith(ENTRY_SUFFIX) && !(await this.#read(path, '', now)) && (await tryUnlink(path));
  }

  /** Runs `work` on each file name of a namespace directory, {@link OPEN_FILES_AT_ONCE} at a time. */
  #forEachEntryName(dir: string, work: (name: string) => Promise<void>): Promise<void> {
    return forEachBounded(this.#directoryNames(dir), OPEN_FILES_AT_ONCE, work);
  }

  /** The names in `dir`, read as they come (never the whole listing at once); none when it is missing. */
  async *#directoryNames(dir: string): AsyncGenerator<string> {
    let handle: Dir;
    try {
      handle = await opendir(dir);
    } catch (error) {
      if (isMissing(error)) return;
      throw new BackendError('file', `cannot list ${dir}`, { cause: error });
    }
    for await (const entry of handle) yield entry.name;
  }

  /** Waits for the removal of cleared namespaces. */
  async close(): Promise<void> {
    await Promise.all(this.#removals);
  }
}

/** The factory registered as `file`. */
export const fileBackend: BackendFactory = (options, context) => new FileBackend(options, context);
