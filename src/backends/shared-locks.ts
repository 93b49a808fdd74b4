/**
 * The cross-process creation lock of a back-end, chosen by one rule for sessions and caches: a store that processes
 * share uses its own locks, else file locks under `lock_dir`; a store of one process needs none (the in-process
 * mutex suffices).
 * @module
 */
import { FileLockProvider } from '../locks/file-lock.js';
import type { LockProvider } from '../locks/contract.js';
import type { AnyBackend } from './contract.js';
import type { BackendDescriptor } from './define.js';
import type { Timers } from '../shared/timers.js';

/** Chooses the cross-process locks of a manager's back-ends, keeping one file lock provider per `lock_dir`. */
export class SharedLockChoice {
  readonly #fileLocks = new Map<string, FileLockProvider>();
  readonly #timers: Timers | undefined;

  /** `timers`: those of the file locks' waits (the host's by default). */
  constructor(timers?: Timers) {
    this.#timers = timers;
  }

  /**
   * The locks for `backend`, opened from `descriptor` (whose declared sharing decides; a plain factory's back-end
   * tells its own), with `lockDir` for stores that processes share but that have no locks of their own.
   */
  for(backend: AnyBackend, descriptor: BackendDescriptor, lockDir: unknown): LockProvider | undefined {
    const shared = (descriptor.capabilities ?? backend.capabilities).sharedAcrossProcesses;
    if (!shared) return undefined;
    if (backend.locks) return backend.locks;
    if (typeof lockDir !== 'string' || lockDir === '') return undefined;
    let provider = this.#fileLocks.get(lockDir);
    if (!provider) {
      provider = new FileLockProvider(lockDir, { timers: this.#timers });
      this.#fileLocks.set(lockDir, provider);
    }
    return provider;
  }
}
