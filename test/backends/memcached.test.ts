/** ext:memcached against a pool of three real servers (scripts/services.sh starts them). */
import { describeBackendConformance } from '../../src/testing/index.js';
import { serverStores } from '../helpers/server-stores.js';

for (const store of (await serverStores()).filter(({ label }) => label.startsWith('ext:memcached'))) {
  const { type, ...options } = store.options;
  describeBackendConformance({
    type: String(type),
    label: store.label,
    options: () => options,
    ...(store.unavailable === undefined ? {} : { unavailable: store.unavailable }),
  });
}
