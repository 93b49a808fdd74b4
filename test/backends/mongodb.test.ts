/**
 * ext:mongodb. No MongoDB server can be installed on the project's machines (not in Debian, downloads blocked), so
 * the conformance suite runs only where BEAKER_TEST_MONGODB_URL names one; everywhere else, CI included, it says
 * loudly that MongoDB was not tested. The checks below need no server.
 */
import { describe, expect, it } from 'vitest';
import { BackendError, ConfigError } from '../../src/index.js';
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
