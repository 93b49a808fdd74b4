/**
 * The `ext:memcached` descriptor: `beaker-ts/backends/memcached`.
 * @module
 */
import { asGivenRule } from '../../shared/option-rules.js';
import { lockLeaseRule, urlRule } from '../kit/common-options.js';
import { defineBackend, type ClientDependency } from '../define.js';
import type { MemcachedBackendOptions } from './index.js';

export type { MemcachedBackendOptions } from './index.js';

/** memjs: `memcache_module = memjs`, and `auto`'s first choice. */
export const MEMJS: ClientDependency<typeof import('memjs')> = {
  name: 'memjs',
  versions: '^1.3.0',
  load: () => import('memjs'),
};

/** The memcached library: `memcache_module = memcached`, and `auto`'s choice when memjs is not installed. */
export const MEMCACHED_LIBRARY: ClientDependency = {
  name: 'memcached',
  versions: '^2.2.0',
  load: () => import('memcached'),
};

/** `ext:memcached`: memcached servers, keys placed by rendezvous hashing. */
export const memcachedDescriptor = defineBackend<MemcachedBackendOptions>({
  name: 'ext:memcached',
  options: {
    url: urlRule,
    memcache_module: asGivenRule('memcache_module', 'auto, memjs or memcached'),
    lock_lease: lockLeaseRule,
  },
  dependencies: [MEMJS, MEMCACHED_LIBRARY],
  capabilities: { sharedAcrossProcesses: true, sharedAcrossHosts: true },
  create: async (options, context) => (await import('./index.js')).memcachedBackend(options, context),
});
