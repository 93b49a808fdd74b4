/** ext:redis and ext:rediscluster against real servers (scripts/services.sh starts them). */
import { describeBackendConformance } from '../../src/testing/index.js';
import { serverStores } from '../helpers/server-stores.js';

for (const store of (await serverStores()).filter(({ label }) => label.startsWith('ext:redis'))) {
  const { type, ...options } = store.options;
  describeBackendConformance({
    type: String(type),
    options: () => options,
    ...(store.unavailable === undefined ? {} : { unavailable: store.unavailable }),
  });
}
