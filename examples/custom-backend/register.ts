/**
 * Registers `nats-kv` on a manager: the module the conformance suite's child processes import (its
 * `registerModule`), and what an application does once before naming `type = nats-kv`.
 * @module
 */
import type { CacheManager } from 'beaker-ts';
import { natsKvBackend } from './descriptor.js';

/** Makes `type = nats-kv` name this back-end on `manager`. */
export function register(manager: Pick<CacheManager, 'registerBackend'>): void {
  manager.registerBackend(natsKvBackend.name, natsKvBackend);
}
