/**
 * The back-end kit, `beaker-ts/backends/kit`: what beaker-ts's own back-ends are built from, for writing one of your
 * own. Describe it with {@link defineBackend}; load its client library with {@link loadClient}; wrap each store
 * command in {@link storeCommand} so that a failure names the back-end; share concurrent reads of one entry with a
 * {@link ReadCoalescer}; answer a batch read (`getMany`) in batches of distinct ids with {@link fetchByIds}; and give
 * it cross-host dog-pile locks by implementing {@link LeaseStore} for a {@link LeaseLockProvider} (renewal while
 * held, release retried after an outage, {@link HostReleaseNotices} between the processes of a host when the store
 * cannot notify waiters); on a store without native TTL, implement only the primitive {@link LeaseRows} and let a
 * {@link RowLeaseStore} take, renew and release the leases. Check it with `describeBackendConformance` from
 * `beaker-ts/testing`.
 * @module
 */
export {
  backendOptionsOf,
  type BackendCreator,
  type CoreOptionName,
  type DeclaredCapabilities,
} from '../define.js';
export { loadClient, missingClient } from './load-client.js';
export { commandError, commandFailure, storeCommand } from '../../shared/store-command.js';
export { ReadCoalescer } from './read-coalescer.js';
export { forEachBounded, mapBounded } from './bounded.js';
export { fetchByIds, type BatchLimits } from './batches.js';
export { LeaseLockProvider, leaseMsOf, type LeaseStore } from '../../locks/lease.js';
export {
  RowLeaseStore,
  type InsertingLeaseRows,
  type LeaseRowReads,
  type LeaseRows,
  type SwappingLeaseRows,
} from '../../locks/row-leases.js';
export { HostReleaseNotices } from '../../locks/host-release-notices.js';
export { ReleaseWaiters } from '../../locks/release-waiters.js';
export { entryLockName, entryOfLockName } from '../../locks/contract.js';
export { lockLeaseRule } from './common-options.js';
export {
  asGivenRule,
  booleanRule,
  integerRule,
  optionalStringRule,
  positiveIntegerRule,
  type OptionRule,
  type ValueKind,
} from '../../shared/option-rules.js';
// The contract and defineBackend, as `beaker-ts/backends` has them, so that a back-end needs this one import.
export * from '../index.js';
