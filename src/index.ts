/**
 * beaker-ts: sessions and caching for Node.js, configured the Beaker way.
 * @module
 */
export * from './config/index.js';
export { BeakerError, ConfigError, MissingDependencyError, errors } from './errors.js';
