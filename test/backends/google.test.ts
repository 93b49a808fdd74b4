/** ext:google against the Cloud Datastore emulator (scripts/services.sh starts it from the Google Cloud CLI). */
import { expect, it, vi } from 'vitest';
import { googleBackend } from '../../src/backends/google/index.js';
import { DATASTORE_URL, describeServerConformance, serverStores } from '../helpers/server-stores.js';
import { describeWhenAvailable } from '../helpers/services.js';

await describeServerConformance((label) => label.startsWith('ext:google'));

// delete() looked the entity up first only to say whether it was there: a Datastore delete cannot say, so it answers
// undefined and makes no lookup.
const datastore = (await serverStores()).find(({ label }) => label.startsWith('ext:google'));
// Under CI=true an unreachable emulator fails this suite rather than skipping it, as for the others.
describeWhenAvailable('ext:google delete', datastore?.unavailable, () => {
  it('deletes with one call and no lookup, resolving to undefined', async () => {
    const { Datastore } = await import('@google-cloud/datastore');
    const client = new Datastore({ apiEndpoint: DATASTORE_URL, projectId: 'beaker-ts-test' });
    const backend = await googleBackend({ bind: client }, { clock: Date.now, report: () => undefined });
    const namespace = `google-delete-${process.pid}-${Date.now()}`;
    await backend.set(namespace, 'k', 'v');
    const lookups = vi.spyOn(client, 'get');
    expect(await backend.delete(namespace, 'k')).toBeUndefined();
    expect(lookups).not.toHaveBeenCalled();
    expect(await backend.get(namespace, 'k')).toBeUndefined();
    await backend.close();
  });
});
