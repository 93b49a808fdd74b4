/**
 * Stores that cannot notify lock waiters (memcached, Datastore, MongoDB) wake the waiters of the same host through
 * a watched file in the OS temporary directory. Owner and waiter are two back-ends, each with its own notices, as
 * two processes have.
 */
import { it } from 'vitest';
import { memcachedBackend } from '../../src/backends/memcached/index.js';
import { googleBackend } from '../../src/backends/google/index.js';
import { mongodbBackend } from '../../src/backends/mongodb/index.js';
import type { BackendFactory } from '../../src/backends/contract.js';
import { expectWokenOnRelease, WatchedTimers } from '../helpers/locks.js';
import { serverStores } from '../helpers/server-stores.js';
import { describeWhenAvailable } from '../helpers/services.js';

const context = { clock: Date.now, report: () => undefined };

const FACTORIES: Record<string, BackendFactory> = {
  'ext:memcached': memcachedBackend,
  'ext:google': googleBackend,
  'ext:mongodb': mongodbBackend,
};

for (const store of await serverStores()) {
  const { type, ...options } = store.options;
  const factory = FACTORIES[String(type)];
  if (!factory) continue;
  describeWhenAvailable(`lock wake-ups on ${store.label}`, store.unavailable, () => {
    it('wakes a waiter of the same host at once when the lock is released', async () => {
      const timers = new WatchedTimers();
      const [owner, waiter] = await Promise.all([
        factory(options, context),
        factory(options, { ...context, timers }),
      ]);
      if (!owner.locks || !waiter.locks) throw new Error(`${store.label} has creation locks`);
      await expectWokenOnRelease(
        owner.locks,
        waiter.locks,
        `host-wake-${String(Date.now())}`,
        timers.nextLongWait,
      );
      await Promise.all([owner.close(), waiter.close()]);
    });
  });
}
