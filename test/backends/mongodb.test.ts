/**
 * ext:mongodb. No MongoDB server can be installed on the project's machines (not in Debian, downloads blocked), so
 * the conformance suite runs only where BEAKER_TEST_MONGODB_URL names one; everywhere else, CI included, it says
 * loudly that MongoDB was not tested. The checks below need no server.
 */
import { describe, expect, it } from 'vitest';
import { BackendError, ConfigError } from '../../src/index.js';
import { getEntries } from '../../src/backends/contract.js';
import { defaultDatabase, mongodbBackend } from '../../src/backends/mongodb/index.js';
import { describeBackendConformance } from '../../src/testing/index.js';
import { vitestRunner } from '../helpers/vitest-runner.js';
import { MONGODB_URL } from '../helpers/server-stores.js';

const context = { clock: Date.now, report: () => undefined };

if (MONGODB_URL === undefined) {
  console.warn(
    '\n*** MongoDB was NOT tested: set BEAKER_TEST_MONGODB_URL=mongodb://host:port/db to run its conformance ' +
      'suite (no MongoDB server can be installed on this machine) ***\n',
  );
  describe.skip('back-end conformance: ext:mongodb (BEAKER_TEST_MONGODB_URL is not set)', () => undefined);
} else {
  const url = MONGODB_URL;
  describeBackendConformance({
    runner: vitestRunner,
    type: 'ext:mongodb',
    options: () => ({ url }),
  });
}

describe('ext:mongodb without a server', () => {
  it('requires the URL to name a default database', async () => {
    expect(defaultDatabase('mongodb://u:p@db1:27017,db2:27017/app?replicaSet=rs')).toBe('app');
    expect(() => defaultDatabase('mongodb://u:secret@localhost:27017')).toThrow(ConfigError);
    expect(() => defaultDatabase('mongodb://u:secret@localhost:27017/')).toThrow(
      /must name a default database/,
    );
    expect(() => defaultDatabase('mongodb://u:secret@localhost:27017')).not.toThrow(/secret/);
    await expect(mongodbBackend({}, context)).rejects.toThrow(ConfigError);
  });

  it('refuses collection names MongoDB would refuse', async () => {
    await expect(
      mongodbBackend({ url: 'mongodb://localhost/db', table_name: 'a$b' }, context),
    ).rejects.toThrow(/table_name/);
  });

  it('fails with a typed error, within its timeout, when the server is down', async () => {
    const attempt = mongodbBackend({ url: 'mongodb://127.0.0.1:1/beaker' }, context);
    await expect(attempt).rejects.toThrow(BackendError);
    await expect(attempt).rejects.toThrow(/cannot connect to beaker/);
  }, 20_000);
});

/**
 * A stand-in for a MongoClient, only as far as get, set and getMany go: documents in a Map, `find` answering
 * `{ _id: { $in } }`. It checks what getMany asks and how it reads the answer, not MongoDB.
 */
function fakeClient(): { client: unknown; finds: unknown[] } {
  const documents = new Map<string, { _id: string; expiresAt: Date | null }>();
  const finds: unknown[] = [];
  const collection = {
    namespace: 'test.fake',
    createIndex: () => Promise.resolve('index'),
    replaceOne: (filter: { _id: string }, document: { expiresAt: Date | null }) => {
      documents.set(filter._id, { ...document, _id: filter._id });
      return Promise.resolve({});
    },
    findOne: (filter: { _id: string }) => Promise.resolve(documents.get(filter._id) ?? null),
    find: (filter: { _id: { $in: string[] } }) => {
      finds.push(filter);
      return {
        toArray: () => Promise.resolve(filter._id.$in.flatMap((id) => documents.get(id) ?? []).reverse()),
      };
    },
  };
  const client = {
    db: () => ({ collection: () => collection }),
    options: { hosts: [] },
    close: () => undefined,
  };
  return { client, finds };
}

describe('ext:mongodb getMany, on a stand-in for the driver', () => {
  it('asks one $in of the distinct ids and answers each key as get does, expiry included', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const { client, finds } = fakeClient();
    const backend = await mongodbBackend({ url: client }, { clock: () => now, report: () => undefined });
    await backend.set('ns', 'a', 'value a');
    await backend.set('ns', 'short', 'brief', { ttlMs: 1000 });
    await backend.set('other', 'b', 'elsewhere');
    now += 2000;
    const keys = ['a', 'missing', 'short', 'b', 'a'];
    const batch = await getEntries(backend, 'ns', keys);
    expect(batch).toEqual(await Promise.all(keys.map((key) => backend.get('ns', key))));
    expect(batch).toEqual(['value a', undefined, undefined, undefined, 'value a']);
    expect(finds).toHaveLength(1);
    expect((finds[0] as { _id: { $in: string[] } })._id.$in).toHaveLength(4);
    await backend.close();
  });
});
