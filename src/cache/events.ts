/**
 * Problems the cache reports without failing the call: a stored value that cannot be decoded (treated as a miss),
 * a creation lock not obtained in time, a lock taken over, a back-end warning.
 * @module
 */
import type { BackendEvent } from '../backends/contract.js';

/** A problem reported by a cache or its back-end. */
export type CacheEvent =
  | BackendEvent
  | {
      /** decode-error: a stored value could not be read; backend-error: the store failed (the creator ran). */
      type: 'decode-error' | 'backend-error';
      backend: string;
      namespace: string;
      key: string;
      message: string;
      error: unknown;
    }
  | {
      type: 'lock-timeout';
      backend: string;
      namespace: string;
      key: string;
      message: string;
    };

/** Receives cache events. */
export type CacheEventHandler = (event: CacheEvent) => void;

/** The default handler: one `process.emitWarning` per event (type `BeakerCacheWarning`). */
export function emitCacheWarning(event: CacheEvent): void {
  const where =
    'namespace' in event && event.namespace !== undefined
      ? ` (namespace ${JSON.stringify(event.namespace)})`
      : '';
  process.emitWarning(`[${event.backend}] ${event.message}${where}`, {
    type: 'BeakerCacheWarning',
    code: `BEAKER_${event.type.toUpperCase().replaceAll('-', '_')}`,
  });
}
