/**
 * Maps `type` names to back-end factories. Each manager owns one registry (no process-global state); built-in
 * back-ends are loaded on first use, so their client libraries are needed only when used.
 * @module
 */
import { UnknownBackendError } from '../errors.js';
import { nearestName } from '../config/suggest.js';
import type { BackendFactory } from './contract.js';

type Loader = () => Promise<BackendFactory>;

const BUILT_IN: Readonly<Record<string, Loader>> = {
  memory: async () => (await import('./memory/index.js')).memoryBackend,
  file: async () => (await import('./file/index.js')).fileBackend,
  dbm: async () => (await import('./dbm/index.js')).dbmBackend,
  'ext:redis': async () => (await import('./redis/index.js')).redisBackend,
  'ext:rediscluster': async () => (await import('./redis/index.js')).redisClusterBackend,
  'ext:memcached': async () => (await import('./memcached/index.js')).memcachedBackend,
  'ext:database': async () => (await import('./database/index.js')).databaseBackend,
  'ext:sqla': async () => (await import('./database/index.js')).sqlaBackend,
  'ext:mongodb': async () => (await import('./mongodb/index.js')).mongodbBackend,
  'ext:google': async () => (await import('./google/index.js')).googleBackend,
};

export class BackendRegistry {
  readonly #loaders = new Map<string, Loader>(Object.entries(BUILT_IN));

  /** Adds a back-end under `name`, replacing a previous one of that name. */
  register(name: string, factory: BackendFactory): void {
    this.#loaders.set(name, () => Promise.resolve(factory));
  }

  /** The names that resolve. */
  names(): string[] {
    return [...this.#loaders.keys()];
  }

  /** Throws {@link UnknownBackendError}, with the nearest name, when no back-end is registered under `name`. */
  check(name: string): void {
    if (this.#loaders.has(name)) return;
    const names = this.names();
    // Beaker's server back-ends carry an `ext:` prefix that is easy to forget (`redis` for `ext:redis`).
    const nearest = names.includes(`ext:${name}`) ? `ext:${name}` : nearestName(name, names);
    throw new UnknownBackendError(name, names, nearest);
  }

  /** The factory for `name`; throws {@link UnknownBackendError} for an unknown name. */
  async resolve(name: string): Promise<BackendFactory> {
    this.check(name);
    return (this.#loaders.get(name) as Loader)();
  }
}
