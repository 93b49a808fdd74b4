/**
 * Problems the cache reports without failing the call: a stored value that cannot be decoded (treated as a miss),
 * a creation lock not obtained in time, a lock taken over, a back-end warning.
 * @module
 */
import type { BackendEvent } from '../backends/contract.js';
import { eventWarningCode, ThrottledWarnings } from '../shared/warnings.js';

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

/**
 * The default handler of one cache manager: a `process.emitWarning` (type `BeakerCacheWarning`) per event, at most
 * one per event type and back-end every 10 s.
 */
export function cacheWarnings(clock?: () => number): CacheEventHandler {
  const warnings = new ThrottledWarnings('BeakerCacheWarning', clock);
  return (event) => {
    const where =
      'namespace' in event && event.namespace !== undefined && event.namespace !== ''
        ? ` (namespace ${JSON.stringify(event.namespace)})`
        : '';
    warnings.emit(eventWarningCode(event.type), `[${event.backend}] ${event.message}${where}`, event.backend);
  };
}
