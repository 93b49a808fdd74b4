/**
 * beaker-ts: sessions and caching for Node.js, configured the Beaker way.
 * @module
 */
export * from './config/index.js';
export * from './cache/index.js';
export * from './session/index.js';
export type * from './backends/index.js';
export {
  BackendError,
  BeakerError,
  ConfigError,
  CreationTimeoutError,
  ManagerClosedError,
  MissingDependencyError,
  NamespaceConflictError,
  RegionNotConfiguredError,
  SynchronousReadError,
  TamperedValueError,
  UnknownBackendError,
  ValueTooLargeError,
  errors,
} from './shared/errors.js';
