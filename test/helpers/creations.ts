/** Creators and caches for the tests of creation (timeouts, stale-if-error, refresh ahead, tags), on manual timers. */
import type { CacheEvent, CacheManager, CreationContext } from '../../src/index.js';
import { ManualTimers } from './manual-timers.js';

/** One run of a {@link controlledCreator}: settle it to end the creation. */
export interface ControlledRun<V> {
  resolve: (value: V) => void;
  reject: (error: Error) => void;
  context: CreationContext<V>;
}

/** A creator whose runs each wait until the test settles them. */
export function controlledCreator<V>(): {
  createfunc: (context: CreationContext<V>) => Promise<V>;
  runs: ControlledRun<V>[];
} {
  const runs: ControlledRun<V>[] = [];
  return {
    runs,
    createfunc: (context) =>
      new Promise<V>((resolve, reject) => {
        runs.push({ resolve, reject, context });
      }),
  };
}

/**
 * A memory cache of namespace `namespace` whose clock is the manual timers' clock (`expire = 10` unless the options
 * say otherwise), on a manager from `newManager` that records every event, activity included, in `events`.
 */
export function manualCache(
  newManager: (options?: ConstructorParameters<typeof CacheManager>[0]) => CacheManager,
  namespace: string,
  options: Record<string, unknown>,
  events: CacheEvent[] = [],
) {
  const timers = new ManualTimers();
  const manager = newManager({
    timers,
    clock: timers.now,
    onEvent: (event) => events.push(event),
    reportActivity: true,
  });
  return { timers, manager, cache: manager.getCache<string>(namespace, { expire: 10, ...options }) };
}
