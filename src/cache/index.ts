/**
 * Caching: managers, caches, regions, cached functions and dog-pile protection.
 * @module
 */
export {
  Cache,
  type CacheGetManyOptions,
  type CacheGetOptions,
  type CachePutOptions,
  type CacheStats,
  type CreateFunction,
  type CreationContext,
} from './cache.js';
export {
  CacheManager,
  type CacheDecorator,
  type CachedFunctionOptions,
  type CacheManagerOptions,
  type KeyPart,
} from './manager.js';
export { type CacheActivityEvent, type CacheEvent, type CacheEventHandler } from './events.js';
export { decodeValue, encodeValue, UnencodableValueError } from '../shared/codec.js';
