/**
 * The configuration layer: Beaker's prefixed options, coerced and validated, from code or from an INI file.
 * @module
 */
export { asBool, asInt, asList } from '../shared/converters.js';
export {
  CACHE_OPTION_NAMES,
  DEFAULT_CACHE_KEY_LENGTH,
  coerceCacheParams,
  type CacheOptions,
  type CacheOptionsInput,
  type CacheRegionOptions,
  type ParsedCacheConfig,
} from './cache-options.js';
export {
  SESSION_OPTION_NAMES,
  coerceSessionParams,
  type CryptoType,
  type SameSite,
  type SessionOptions,
  type SessionOptionsInput,
} from './session-options.js';
export type { DataSerializer, DataSerializerName } from './shared-rules.js';
export {
  parseCacheConfigOptions,
  parseSessionConfigOptions,
  type FlatConfig,
  type ParseConfigOptions,
} from './parse.js';
export type { BackendOptions } from './backend-options.js';
export { loadIniConfig, parseIniConfig, type IniConfigOptions } from './ini.js';
export { emitProcessWarning, type ConfigWarning, type ConfigWarningHandler } from '../shared/warnings.js';
