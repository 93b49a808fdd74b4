/**
 * `memory`: entries in this process, optionally bounded with least-recently-used eviction (`max_items`).
 * By default values are kept as copies, so a value read from the cache is a copy that the caller may change (a plain
 * JSON graph is copied, which is cheaper than parsing its text; anything else is kept as tagged text);
 * `serialize = false` keeps the values themselves (faster, but callers then share and can mutate them).
 * @module
 */
import { LRUCache } from 'lru-cache';
import { keepCopy, readCopy, type KeptCopy } from '../../shared/codec.js';
import type {
  BackendCapabilities,
  BackendContext,
  BackendFactory,
  ObjectBackend,
  SetOptions,
} from '../contract.js';

/** Options of the memory back-end. */
export interface MemoryBackendOptions {
  /** Bound on the number of entries; the least recently used go first. Absent: unbounded. */
  max_items?: number | null;
  /** Store values serialized (copies, the default) or as they are (shared references). */
  serialize?: boolean | null;
}

/** One entry, knowing where it lives so that an eviction can remove it from its namespace. */
interface Slot<D> {
  readonly namespace: string;
  readonly key: string;
  readonly data: D;
  readonly expiresAt: number | undefined;
}

// Native TTL: a read never returns an expired entry (and the sweep removes those nobody reads), so the core need not
// record and check each entry's hard expiry.
const CAPABILITIES: BackendCapabilities = {
  nativeTtl: true,
  sharedAcrossProcesses: false,
  sharedAcrossHosts: false,
  ttlResolutionMs: 1,
};

/**
 * Expired entries are dropped this often even if nothing reads them again: every cookieless visitor's session, say,
 * would otherwise stay in memory for the life of the process.
 */
export const MEMORY_SWEEP_INTERVAL_MS = 60_000;

/**
 * The store of both memory back-ends; `D` is what it keeps: text, or values as given. Entries live in one map per
 * namespace, so that `keys()` and `clear()` cost the size of their namespace, not of the whole store, and a read
 * builds no combined key. With `max_items`, one LRU order over every entry decides what goes first.
 */
abstract class MemoryStore<D> {
  readonly type = 'memory';
  readonly capabilities = CAPABILITIES;
  readonly #namespaces = new Map<string, Map<string, Slot<D>>>();
  /** With `max_items`: the recency of every entry; evicting one removes it from its namespace. */
  readonly #recency: LRUCache<Slot<D>, true> | undefined;
  readonly #clock: () => number;
  /** The host's interval (not the injected lock timers, whose pending callbacks tests count). */
  readonly #sweep: NodeJS.Timeout;

  constructor(options: Pick<MemoryBackendOptions, 'max_items'>, context: Pick<BackendContext, 'clock'>) {
    const maxItems = options.max_items ?? undefined;
    this.#recency =
      maxItems === undefined
        ? undefined
        : new LRUCache<Slot<D>, true>({
            max: maxItems,
            dispose: (_, slot) => {
              this.#forget(slot);
            },
          });
    this.#clock = context.clock;
    // Unreferenced: a sweep never keeps the process alive.
    this.#sweep = setInterval(() => void this.prune(), MEMORY_SWEEP_INTERVAL_MS).unref();
  }

  /** The entry of `key`, unless absent or expired (then removed); a read counts as a use for the LRU order. */
  #live(namespace: string, key: string): Slot<D> | undefined {
    const slot = this.#namespaces.get(namespace)?.get(key);
    if (slot === undefined) return undefined;
    // The clock is read only for an entry that expires.
    if (slot.expiresAt !== undefined && this.#hasExpired(slot, this.#clock())) {
      this.#remove(slot);
      return undefined;
    }
    this.#recency?.get(slot);
    return slot;
  }

  #hasExpired(slot: Slot<D>, now: number): boolean {
    return slot.expiresAt !== undefined && slot.expiresAt <= now;
  }

  /** Removes `slot` from its namespace, if it is still the entry there (not already replaced). */
  #forget(slot: Slot<D>): void {
    const entries = this.#namespaces.get(slot.namespace);
    if (entries?.get(slot.key) !== slot) return;
    entries.delete(slot.key);
    if (entries.size === 0) this.#namespaces.delete(slot.namespace);
  }

  /** Removes `slot` everywhere: through the LRU order when there is one (whose dispose forgets it). */
  #remove(slot: Slot<D>): void {
    if (this.#recency === undefined) this.#forget(slot);
    else this.#recency.delete(slot);
  }

  /** What a read hands out for what is kept. */
  protected abstract output(data: D): unknown;

  /** What is kept for a value given to `set`. */
  protected abstract kept(value: unknown): D;

  /** The value of `key`, synchronously: what {@link get} resolves to. */
  peek(namespace: string, key: string): unknown {
    const slot = this.#live(namespace, key);
    return slot === undefined ? undefined : this.output(slot.data);
  }

  get(namespace: string, key: string): Promise<unknown> {
    try {
      return Promise.resolve(this.peek(namespace, key));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * The values of `keys`, in their order: what a `get` of each, one after the other, would resolve to, read
   * synchronously (each read counts as a use for the LRU order, in the order of `keys`).
   */
  getMany(namespace: string, keys: readonly string[]): Promise<unknown[]> {
    try {
      return Promise.resolve(keys.map((key) => this.peek(namespace, key)));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  set(namespace: string, key: string, value: unknown, options: SetOptions = {}): Promise<void> {
    let data: D;
    try {
      data = this.kept(value);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const expiresAt = options.ttlMs === undefined ? undefined : this.#clock() + options.ttlMs;
    const slot: Slot<D> = { namespace, key, data, expiresAt };
    let entries = this.#namespaces.get(namespace);
    if (entries === undefined) {
      entries = new Map();
      this.#namespaces.set(namespace, entries);
    }
    const previous = entries.get(key);
    entries.set(key, slot);
    if (this.#recency !== undefined) {
      // The replaced entry leaves the LRU order (its dispose finds it replaced and leaves the namespace alone).
      if (previous !== undefined) this.#recency.delete(previous);
      this.#recency.set(slot, true);
    }
    return Promise.resolve();
  }

  delete(namespace: string, key: string): Promise<boolean> {
    const slot = this.#namespaces.get(namespace)?.get(key);
    if (slot === undefined) return Promise.resolve(false);
    this.#remove(slot);
    return Promise.resolve(!this.#hasExpired(slot, this.#clock()));
  }

  keys(namespace: string): Promise<string[]> {
    const entries = this.#namespaces.get(namespace);
    if (entries === undefined) return Promise.resolve([]);
    const now = this.#clock();
    const keys: string[] = [];
    for (const slot of [...entries.values()]) {
      if (this.#hasExpired(slot, now)) this.#remove(slot);
      else keys.push(slot.key);
    }
    return Promise.resolve(keys);
  }

  clear(namespace: string): Promise<void> {
    const entries = this.#namespaces.get(namespace);
    if (entries === undefined) return Promise.resolve();
    this.#namespaces.delete(namespace);
    if (this.#recency !== undefined) for (const slot of entries.values()) this.#recency.delete(slot);
    return Promise.resolve();
  }

  prune(): Promise<number> {
    const now = this.#clock();
    let removed = 0;
    for (const entries of [...this.#namespaces.values()]) {
      for (const slot of [...entries.values()]) {
        if (!this.#hasExpired(slot, now)) continue;
        this.#remove(slot);
        removed += 1;
      }
    }
    return Promise.resolve(removed);
  }

  close(): Promise<void> {
    clearInterval(this.#sweep);
    this.#namespaces.clear();
    this.#recency?.clear();
    return Promise.resolve();
  }
}

/**
 * The memory back-end that keeps copies (the default, `serialize = true`): what `set` is given is copied, and every
 * read returns a fresh copy, as a round trip through the default codec's text would (Date, Map, BigInt, ... kept).
 */
export class MemoryBackend extends MemoryStore<KeptCopy> implements ObjectBackend {
  readonly format = 'object';
  readonly copies = true;

  protected output(data: KeptCopy): unknown {
    return readCopy(data);
  }

  protected kept(value: unknown): KeptCopy {
    return keepCopy(value);
  }
}

/** The memory back-end with `serialize = false`: it keeps the values themselves, which callers then share. */
export class ObjectMemoryBackend extends MemoryStore<unknown> implements ObjectBackend {
  readonly format = 'object';
  readonly copies = false;

  protected output(data: unknown): unknown {
    return data;
  }

  protected kept(value: unknown): unknown {
    return value;
  }
}

/** The factory registered as `memory`. */
export const memoryBackend: BackendFactory = (options, context) =>
  (options as MemoryBackendOptions).serialize === false
    ? new ObjectMemoryBackend(options, context)
    : new MemoryBackend(options, context);
