/**
 * `memory`: entries in this process, optionally bounded with least-recently-used eviction (`max_items`).
 * By default entries are stored serialized, so a value read from the cache is a copy that the caller may change;
 * `serialize = false` keeps the values themselves (faster, but callers then share and can mutate them).
 * @module
 */
import { LRUCache } from 'lru-cache';
import type {
  Backend,
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

interface Slot<D> {
  data: D;
  expiresAt: number | undefined;
}

/** The operations used of the store: a Map when unbounded, an LRUCache when bounded. */
interface SlotStore<D> {
  get(id: string): Slot<D> | undefined;
  set(id: string, slot: Slot<D>): unknown;
  delete(id: string): boolean;
  keys(): Iterable<string>;
  clear(): void;
}

const CAPABILITIES: BackendCapabilities = {
  nativeTtl: false,
  sharedAcrossProcesses: false,
  sharedAcrossHosts: false,
  ttlResolutionMs: 1,
};

/**
 * Expired entries are dropped this often even if nothing reads them again: every cookieless visitor's session, say,
 * would otherwise stay in memory for the life of the process.
 */
export const MEMORY_SWEEP_INTERVAL_MS = 60_000;

// A length prefix keeps (namespace, key) pairs distinct whatever characters they contain.
function slotKey(namespace: string, key: string): string {
  return `${namespace.length}:${namespace}${key}`;
}

/** The store of both memory back-ends; `D` is what it keeps: text, or values as given. */
abstract class MemoryStore<D> {
  readonly type = 'memory';
  readonly capabilities = CAPABILITIES;
  readonly #slots: SlotStore<D>;
  readonly #clock: () => number;
  /** The host's interval (not the injected lock timers, whose pending callbacks tests count). */
  readonly #sweep: NodeJS.Timeout;

  constructor(options: Pick<MemoryBackendOptions, 'max_items'>, context: Pick<BackendContext, 'clock'>) {
    const maxItems = options.max_items ?? undefined;
    this.#slots = maxItems === undefined ? new Map() : new LRUCache<string, Slot<D>>({ max: maxItems });
    this.#clock = context.clock;
    // Unreferenced: a sweep never keeps the process alive.
    this.#sweep = setInterval(() => void this.prune(), MEMORY_SWEEP_INTERVAL_MS).unref();
  }

  #live(namespace: string, key: string): Slot<D> | undefined {
    const id = slotKey(namespace, key);
    const slot = this.#slots.get(id);
    if (slot?.expiresAt !== undefined && slot.expiresAt <= this.#clock()) {
      this.#slots.delete(id);
      return undefined;
    }
    return slot;
  }

  get(namespace: string, key: string): Promise<D | undefined> {
    return Promise.resolve(this.#live(namespace, key)?.data);
  }

  set(namespace: string, key: string, data: D, options: SetOptions = {}): Promise<void> {
    const expiresAt = options.ttlMs === undefined ? undefined : this.#clock() + options.ttlMs;
    this.#slots.set(slotKey(namespace, key), { data, expiresAt });
    return Promise.resolve();
  }

  delete(namespace: string, key: string): Promise<boolean> {
    const existed = this.#live(namespace, key) !== undefined;
    this.#slots.delete(slotKey(namespace, key));
    return Promise.resolve(existed);
  }

  keys(namespace: string): Promise<string[]> {
    const prefix = slotKey(namespace, '');
    const keys: string[] = [];
    for (const id of [...this.#slots.keys()]) {
      if (!id.startsWith(prefix)) continue;
      const key = id.slice(prefix.length);
      if (this.#live(namespace, key)) keys.push(key);
    }
    return Promise.resolve(keys);
  }

  clear(namespace: string): Promise<void> {
    const prefix = slotKey(namespace, '');
    for (const id of [...this.#slots.keys()]) if (id.startsWith(prefix)) this.#slots.delete(id);
    return Promise.resolve();
  }

  prune(): Promise<number> {
    const now = this.#clock();
    let removed = 0;
    for (const id of [...this.#slots.keys()]) {
      const expiresAt = this.#slots.get(id)?.expiresAt;
      if (expiresAt !== undefined && expiresAt <= now) {
        this.#slots.delete(id);
        removed += 1;
      }
    }
    return Promise.resolve(removed);
  }

  close(): Promise<void> {
    clearInterval(this.#sweep);
    this.#slots.clear();
    return Promise.resolve();
  }
}

/** The memory back-end of text entries (the default: callers get copies). */
export class MemoryBackend extends MemoryStore<string> implements Backend {
  readonly format = 'text';
}

/** The memory back-end with `serialize = false`: it keeps the values themselves, which callers then share. */
export class ObjectMemoryBackend extends MemoryStore<unknown> implements ObjectBackend {
  readonly format = 'object';
}

/** The factory registered as `memory`. */
export const memoryBackend: BackendFactory = (options, context) =>
  (options as MemoryBackendOptions).serialize === false
    ? new ObjectMemoryBackend(options, context)
    : new MemoryBackend(options, context);
