/**
 * The back-end contract, for writing your own back-end (register it with `manager.registerBackend(name, factory)`).
 * @module
 */
export type {
  Backend,
  BackendCapabilities,
  BackendContext,
  BackendEvent,
  BackendFactory,
  SetOptions,
} from './contract.js';
export type { LockHandle, LockProvider } from '../locks/contract.js';
export type { TimerHandle, Timers } from '../timers.js';
export type { SqlClient, SqlDialect, SqlResult } from './database/sql-client.js';
