/**
 * What the back-ends that keep data on this host's disk (file, dbm) share: where data and locks go, their
 * capabilities, and their cross-process creation locks.
 * @module
 */
import { join } from 'node:path';
import { ConfigError } from '../../shared/errors.js';
import { FileLockProvider } from '../../locks/file-lock.js';
import type { BackendCapabilities, BackendContext } from '../contract.js';

/** Shared by the processes of one host, expiry checked on read. */
export const ON_DISK_CAPABILITIES: BackendCapabilities = {
  nativeTtl: false,
  sharedAcrossProcesses: true,
  sharedAcrossHosts: false,
  ttlResolutionMs: 1,
};

/**
 * A back-end's data directory: its own option (`file_dir`, `dbm_dir`) or `<data_dir>/<container>`.
 * Throws Beaker's `MissingCacheParameter` text when neither is given.
 */
export function dataDirectory(
  options: Readonly<Record<string, unknown>>,
  ownOption: 'file_dir' | 'dbm_dir',
  container: string,
): string {
  const own = options[ownOption];
  if (typeof own === 'string' && own !== '') return own;
  const dataDir = options.data_dir;
  if (typeof dataDir === 'string' && dataDir !== '') return join(dataDir, container);
  throw new ConfigError(`data_dir or ${ownOption} is required`, { option: 'data_dir', value: dataDir });
}

/** Where cross-process creation locks go: `lock_dir`, else `<data_dir>/<container>_lock`. */
function lockDirectory(options: Readonly<Record<string, unknown>>, container: string): string | undefined {
  const lockDir = options.lock_dir;
  if (typeof lockDir === 'string' && lockDir !== '') return lockDir;
  const dataDir = options.data_dir;
  return typeof dataDir === 'string' && dataDir !== '' ? join(dataDir, `${container}_lock`) : undefined;
}

/**
 * The creation locks of an on-disk back-end: file locks under `lock_dir` (else `<data_dir>/<container>_lock`), with
 * the `lock_lease` option; a lock taken over from a stalled holder is reported.
 */
export function hostLocks(
  options: Readonly<Record<string, unknown>>,
  container: string,
  backend: string,
  context: BackendContext,
): FileLockProvider | undefined {
  const dir = lockDirectory(options, container);
  if (dir === undefined) return undefined;
  const lease = options.lock_lease;
  return new FileLockProvider(dir, {
    ...(typeof lease === 'number' ? { leaseMs: lease * 1000 } : {}),
    ...(context.timers ? { timers: context.timers } : {}),
    onCompromised: (error) => {
      context.report({ type: 'lock-compromised', backend, message: error.message, error });
    },
  });
}
