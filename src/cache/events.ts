/**
 * What a cache reports through `onEvent`: problems that do not fail the call (a stored value that cannot be decoded,
 * a creation lock not obtained in time, a lock taken over, a store that is down, a creator that failed while a stale
 * value was served), and, with the manager's `reportActivity`, its activity (hits, misses, stale values served,
 * creations and background refreshes) to build hit rates and latency figures from.
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
    }
  | {
      /** A creator threw or passed `hard_timeout`. */
      type: 'creation-error';
      backend: string;
      namespace: string;
      key: string;
      message: string;
      error: unknown;
      /** The caller got the stale value instead (`stale_if_error`), or a background refresh failed. */
      servedStale: boolean;
    }
  | CacheActivityEvent;

/**
 * What a cache did, reported only when the manager's `reportActivity` is on (no event is built otherwise):
 * `hit` (a fresh value), `miss` (none), `stale` (an expired value served while another caller creates the new one),
 * `create` (a value created while a caller waited for it) and `refresh` (a value created in the background, after its
 * callers got the stale value), the last two with the creator's duration.
 */
export type CacheActivityEvent =
  | {
      type: 'hit' | 'miss' | 'stale';
      backend: string;
      namespace: string;
      key: string;
    }
  | {
      type: 'create' | 'refresh';
      backend: string;
      namespace: string;
      key: string;
      /** How long the creator and the write took, in ms. */
      durationMs: number;
    };

/** The types of {@link CacheActivityEvent}, which the default handler ignores. */
const ACTIVITY_TYPES: ReadonlySet<string> = new Set(['hit', 'miss', 'stale', 'create', 'refresh']);

/** Is `event` one of a cache's activity reports rather than a problem? */
export function isActivityEvent(event: CacheEvent): event is CacheActivityEvent {
  return ACTIVITY_TYPES.has(event.type);
}

/** Receives cache events. */
export type CacheEventHandler = (event: CacheEvent) => void;

/**
 * The default handler of one cache manager: a `process.emitWarning` (type `BeakerCacheWarning`) per event, at most
 * one per event type and back-end every 10 s.
 */
export function cacheWarnings(clock?: () => number): CacheEventHandler {
  const warnings = new ThrottledWarnings('BeakerCacheWarning', clock);
  return (event) => {
    if (isActivityEvent(event)) return;
    const where =
      'namespace' in event && event.namespace !== undefined && event.namespace !== ''
        ? ` (namespace ${JSON.stringify(event.namespace)})`
        : '';
    warnings.emit(eventWarningCode(event.type), `[${event.backend}] ${event.message}${where}`, event.backend);
  };
}
