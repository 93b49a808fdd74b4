/**
 * Maps `type` names to back-end descriptors. Each manager owns one registry (no process-global state); a built-in
 * back-end's implementation and client library are loaded when it is first created, so they are needed only when used.
 * @module
 */
import { UnknownBackendError } from '../shared/errors.js';
import { nearestName } from '../shared/suggest.js';
import type { BackendFactory } from './contract.js';
import { BUILT_IN_BACKENDS } from './built-in.js';
import { factoryDescriptor, isBackendDescriptor, type BackendDescriptor } from './define.js';

export class BackendRegistry {
  readonly #descriptors = new Map<string, BackendDescriptor>(
    BUILT_IN_BACKENDS.map((descriptor) => [descriptor.name, descriptor]),
  );

  /**
   * Adds a back-end under `name`, replacing a previous one of that name: a descriptor (see `defineBackend`), or a
   * plain factory, which then receives every option that is not the cache's or the session's own.
   */
  register(name: string, backend: BackendDescriptor | BackendFactory): void {
    this.#descriptors.set(name, isBackendDescriptor(backend) ? backend : factoryDescriptor(name, backend));
  }

  /** The names that resolve. */
  names(): string[] {
    return [...this.#descriptors.keys()];
  }

  /** The option names of the back-ends registered here that are not built in, for the unknown-option check. */
  registeredOptionNames(): string[] {
    const builtIn = new Set<BackendDescriptor>(BUILT_IN_BACKENDS);
    return [...this.#descriptors.values()].flatMap((descriptor) =>
      builtIn.has(descriptor) || descriptor.options === 'any' ? [] : Object.keys(descriptor.options),
    );
  }

  /** Throws {@link UnknownBackendError}, with the nearest name, when no back-end is registered under `name`. */
  check(name: string): void {
    if (this.#descriptors.has(name)) return;
    const names = this.names();
    // Beaker's server back-ends carry an `ext:` prefix that is easy to forget (`redis` for `ext:redis`).
    const nearest = names.includes(`ext:${name}`) ? `ext:${name}` : nearestName(name, names);
    throw new UnknownBackendError(name, names, nearest);
  }

  /** The descriptor for `name`; throws {@link UnknownBackendError} for an unknown name. */
  descriptor(name: string): BackendDescriptor {
    this.check(name);
    return this.#descriptors.get(name) as BackendDescriptor;
  }
}
