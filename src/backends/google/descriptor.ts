/**
 * The `ext:google` descriptor: `beaker-ts/backends/google`.
 * @module
 */
import { asGivenRule } from '../../shared/option-rules.js';
import { bindRule, lockLeaseRule, tableNameRule, urlRule } from '../kit/common-options.js';
import { defineBackend, type ClientDependency } from '../define.js';
import type { GoogleBackendOptions } from './index.js';

export type { GoogleBackendOptions } from './index.js';

/** The Google Cloud Datastore client. */
export const DATASTORE_CLIENT: ClientDependency<typeof import('@google-cloud/datastore')> = {
  name: '@google-cloud/datastore',
  versions: '^9.0.0 || ^10.0.0 || ^11.0.0',
  load: () => import('@google-cloud/datastore'),
};

/** `ext:google`: Google Cloud Datastore (or its emulator). */
export const googleDescriptor = defineBackend<GoogleBackendOptions>({
  name: 'ext:google',
  options: {
    url: urlRule,
    project_id: asGivenRule('project_id', 'a Google Cloud project id'),
    table_name: tableNameRule,
    datastore_namespace: asGivenRule('datastore_namespace', 'a Datastore namespace'),
    bind: bindRule,
    lock_lease: lockLeaseRule,
  },
  dependencies: [DATASTORE_CLIENT],
  capabilities: { sharedAcrossProcesses: true, sharedAcrossHosts: true },
  create: async (options, context) => (await import('./index.js')).googleBackend(options, context),
});
