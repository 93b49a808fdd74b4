/**
 * The back-end contract, for writing your own back-end: describe it with `defineBackend` (also in
 * `beaker-ts/backends/kit`, with the helpers beaker-ts's own back-ends use) and register it with
 * `manager.registerBackend(name, descriptor)`, or register a plain factory.
 * @module
 */
export type {
  AnyBackend,
  Backend,
  BackendBase,
  BackendCapabilities,
  BackendContext,
  BackendEvent,
  BackendFactory,
  ObjectBackend,
  SetOptions,
} from './contract.js';
export { getEntries } from './contract.js';
export {
  defineBackend,
  type BackendDefinition,
  type BackendDescriptor,
  type BackendOptionRules,
  type ClientDependency,
} from './define.js';
export type { LockHandle, LockProvider } from '../locks/contract.js';
export type { TimerHandle, Timers } from '../shared/timers.js';
