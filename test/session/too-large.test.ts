/**
 * A session too large for its store (memcached's item size limit) fails its save with the store's
 * ValueTooLargeError, the application's error (a 500), never a SessionStoreError that the adapters answer with a 503
 * "store unavailable".
 */
import { describe, expect, it } from 'vitest';
import { SessionManager, ValueTooLargeError } from '../../src/index.js';
import { MEMCACHED_SERVERS, serverStores } from '../helpers/server-stores.js';
import { describeWhenAvailable } from '../helpers/services.js';
import { SECRET } from './helpers.js';

const unavailable = (await serverStores()).find(({ label }) => label === 'ext:memcached')?.unavailable;

describeWhenAvailable('a session over the store size limit', unavailable, () => {
  describe('on ext:memcached', () => {
    it('fails its save with a ValueTooLargeError, not as an outage', async () => {
      const events: string[] = [];
      const manager = new SessionManager({
        type: 'ext:memcached',
        url: MEMCACHED_SERVERS,
        secret: SECRET,
        onEvent: (event) => events.push(event.type),
      });
      const session = manager.session<{ blob?: string }>(undefined);
      await session.set('blob', 'x'.repeat(2_000_000));
      await expect(session.save()).rejects.toBeInstanceOf(ValueTooLargeError);
      expect(events).not.toContain('store-error');
      await manager.close();
    });
  });
});
