/**
 * The `ext:mongodb` descriptor: `beaker-ts/backends/mongodb`.
 * @module
 */
import { lockLeaseRule, tableNameRule, urlRule } from '../kit/common-options.js';
import { defineBackend, type ClientDependency } from '../define.js';
import type { MongodbBackendOptions } from './index.js';

export type { MongodbBackendOptions } from './index.js';

/** The MongoDB driver. */
export const MONGODB_DRIVER: ClientDependency<typeof import('mongodb')> = {
  name: 'mongodb',
  versions: '^6.0.0 || ^7.0.0',
  load: () => import('mongodb'),
};

/** `ext:mongodb`: a MongoDB collection. */
export const mongodbDescriptor = defineBackend<MongodbBackendOptions>({
  name: 'ext:mongodb',
  options: { url: urlRule, table_name: tableNameRule, lock_lease: lockLeaseRule },
  dependencies: [MONGODB_DRIVER],
  capabilities: { sharedAcrossProcesses: true, sharedAcrossHosts: true },
  create: async (options, context) => (await import('./index.js')).mongodbBackend(options, context),
});
