/** ext:google against the Cloud Datastore emulator (scripts/services.sh starts it from the Google Cloud CLI). */
import { describeBackendConformance } from '../../src/testing/index.js';
import { serverStores } from '../helpers/server-stores.js';

for (const store of (await serverStores()).filter(({ label }) => label.startsWith('ext:google'))) {
  const { type, ...options } = store.options;
  describeBackendConformance({
    type: String(type),
    label: store.label,
    options: () => options,
    ...(store.unavailable === undefined ? {} : { unavailable: store.unavailable }),
  });
}
