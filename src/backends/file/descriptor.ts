/**
 * The `file` back-end's descriptor: `beaker-ts/backends/file`.
 * @module
 */
import { asGivenRule } from '../../shared/option-rules.js';
import { lockLeaseRule } from '../kit/common-options.js';
import { defineBackend } from '../define.js';
import type { FileBackendOptions } from './index.js';

export type { FileBackendOptions } from './index.js';

/** `file`: one file per entry under `data_dir`, shared by the processes of one host. */
export const fileDescriptor = defineBackend<FileBackendOptions>({
  name: 'file',
  options: {
    file_dir: asGivenRule('file_dir', 'a directory path'),
    lock_lease: lockLeaseRule,
    digest_filenames: asGivenRule(
      'digest_filenames',
      'true or false (ignored: files are always named by digest)',
    ),
  },
  coreOptions: ['data_dir', 'lock_dir'],
  capabilities: { sharedAcrossProcesses: true, sharedAcrossHosts: false },
  create: async (options, context) => (await import('./index.js')).fileBackend(options, context),
});
