/**
 * The `ext:redis` and `ext:rediscluster` descriptors: `beaker-ts/backends/redis`.
 * @module
 */
import { asGivenRule } from '../../shared/option-rules.js';
import { lockLeaseRule, urlRule } from '../kit/common-options.js';
import { defineBackend, type BackendOptionRules, type ClientDependency } from '../define.js';
import type { RedisBackendOptions } from './index.js';

export type { RedisBackendOptions } from './index.js';

/** node-redis, the `redis` package: `redis_module = redis`, and `auto`'s first choice. */
export const NODE_REDIS: ClientDependency = {
  name: 'redis',
  versions: '^5.12.0 || ^6.0.0',
  load: () => import('redis'),
};

/** ioredis: `redis_module = ioredis`, `ext:rediscluster`, and `auto`'s choice when node-redis is not installed. */
export const IOREDIS: ClientDependency<typeof import('ioredis')> = {
  name: 'ioredis',
  versions: '^5.0.0 || ^6.0.0',
  load: () => import('ioredis'),
};

const REDIS_OPTIONS: BackendOptionRules<RedisBackendOptions> = {
  url: urlRule,
  urls: asGivenRule('urls', 'comma-separated redis:// URLs, or an ioredis Cluster'),
  redis_module: asGivenRule('redis_module', 'auto, redis or ioredis'),
  timeout: asGivenRule('timeout', 'a whole number of seconds'),
  lock_lease: lockLeaseRule,
};

const SERVER = { sharedAcrossProcesses: true, sharedAcrossHosts: true };

/** `ext:redis`: one Redis server (node-redis or ioredis). */
export const redisDescriptor = defineBackend<RedisBackendOptions>({
  name: 'ext:redis',
  options: REDIS_OPTIONS,
  dependencies: [NODE_REDIS, IOREDIS],
  capabilities: SERVER,
  create: async (options, context) => (await import('./index.js')).redisBackend(options, context),
});

/** `ext:rediscluster`: a Redis Cluster, through ioredis. */
export const redisClusterDescriptor = defineBackend<RedisBackendOptions>({
  name: 'ext:rediscluster',
  options: REDIS_OPTIONS,
  dependencies: [IOREDIS],
  capabilities: SERVER,
  create: async (options, context) => (await import('./index.js')).redisClusterBackend(options, context),
});
