/**
 * The `dbm` back-end's descriptor: `beaker-ts/backends/dbm`.
 * @module
 */
import { asGivenRule } from '../../shared/option-rules.js';
import { lockLeaseRule } from '../kit/common-options.js';
import { defineBackend, type ClientDependency } from '../define.js';
import type { DbmBackendOptions } from './index.js';

export type { DbmBackendOptions } from './index.js';

/** LMDB, the store of the dbm back-end. */
export const LMDB: ClientDependency<typeof import('lmdb')> = {
  name: 'lmdb',
  versions: '^3.0.0',
  load: () => import('lmdb'),
};

/** `dbm`: an LMDB database under `data_dir`, shared by the processes of one host. */
export const dbmDescriptor = defineBackend<DbmBackendOptions>({
  name: 'dbm',
  options: {
    dbm_dir: asGivenRule('dbm_dir', 'a directory path'),
    lock_lease: lockLeaseRule,
    dbmmodule: asGivenRule('dbmmodule', 'a module name (ignored: the dbm back-end always uses LMDB)'),
  },
  coreOptions: ['data_dir', 'lock_dir'],
  dependencies: [LMDB],
  capabilities: { sharedAcrossProcesses: true, sharedAcrossHosts: false },
  create: async (options, context) => (await import('./index.js')).dbmBackend(options, context),
});
