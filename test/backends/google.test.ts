/** ext:google against the Cloud Datastore emulator (scripts/services.sh starts it from the Google Cloud CLI). */
import { expect, it, vi } from 'vitest';
import type { Datastore } from '@google-cloud/datastore';
import { getEntries } from '../../src/backends/contract.js';
import { googleBackend } from '../../src/backends/google/index.js';
import { DATASTORE_URL, describeServerConformance, serverStores } from '../helpers/server-stores.js';
import { describeWhenAvailable } from '../helpers/services.js';

await describeServerConformance((label) => label.startsWith('ext:google'));

/** A back-end on a Datastore client of the test's own (to spy on), and a fresh namespace. */
async function onOwnClient(label: string): Promise<{
  client: Datastore;
  backend: Awaited<ReturnType<typeof googleBackend>>;
  namespace: string;
}> {
  const { Datastore } = await import('@google-cloud/datastore');
  const client = new Datastore({ apiEndpoint: DATASTORE_URL, projectId: 'beaker-ts-test' });
  const backend = await googleBackend({ bind: client }, { clock: Date.now, report: () => undefined });
  return { client, backend, namespace: `google-${label}-${process.pid}-${Date.now()}` };
}

// delete() looked the entity up first only to say whether it was there: a Datastore delete cannot say, so it answers
// undefined and makes no lookup.
const datastore = (await serverStores()).find(({ label }) => label.startsWith('ext:google'));
// Under CI=true an unreachable emulator fails this suite rather than skipping it, as for the others.
describeWhenAvailable('ext:google delete', datastore?.unavailable, () => {
  it('deletes with one call and no lookup, resolving to undefined', async () => {
    const { client, backend, namespace } = await onOwnClient('delete');
    await backend.set(namespace, 'k', 'v');
    const lookups = vi.spyOn(client, 'get');
    expect(await backend.delete(namespace, 'k')).toBeUndefined();
    expect(lookups).not.toHaveBeenCalled();
    expect(await backend.get(namespace, 'k')).toBeUndefined();
    await backend.close();
  });
});

describeWhenAvailable('ext:google getMany', datastore?.unavailable, () => {
  it('reads 250 keys with one lookup, where gets make 250', async () => {
    const { client, backend, namespace } = await onOwnClient('getmany');
    const keys = Array.from({ length: 250 }, (_, index) => `key ${String(index)}`);
    await Promise.all(
      keys.filter((_, index) => index % 2 === 0).map((key) => backend.set(namespace, key, `value of ${key}`)),
    );
    // The lookup RPCs the client sends (each call to the service goes through request_).
    const requests = vi.spyOn(client, 'request_');
    const lookups = (): number =>
      requests.mock.calls.filter(([config]) => (config as { method?: string }).method === 'lookup').length;
    const batch = await getEntries(backend, namespace, keys);
    const batchLookups = lookups();
    requests.mockClear();
    const perKey = await Promise.all(keys.map((key) => backend.get(namespace, key)));
    expect(batch).toEqual(perKey);
    expect(batch).toEqual(keys.map((key, index) => (index % 2 === 0 ? `value of ${key}` : undefined)));
    expect(batchLookups).toBe(1);
    expect(lookups()).toBe(250);
    requests.mockRestore();
    await backend.close();
  });
});
