/** ext:database on PostgreSQL and MariaDB (on the machine, or started by scripts/services.sh) and on a SQLite file. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeBackendConformance } from '../../src/testing/index.js';
import { serverStores } from '../helpers/server-stores.js';

for (const store of (await serverStores()).filter(({ label }) => label.startsWith('ext:database'))) {
  const { type, ...options } = store.options;
  describeBackendConformance({
    type: String(type),
    label: store.label,
    options: () => ({ ...options, table_name: 'beaker_ts_conformance' }),
    ...(store.unavailable === undefined ? {} : { unavailable: store.unavailable }),
  });
}

const sqliteDir = mkdtempSync(join(tmpdir(), 'beaker-sqlite-'));
describeBackendConformance({
  type: 'ext:database',
  label: 'ext:database on SQLite',
  options: () => ({ url: `sqlite:///${join(sqliteDir, 'cache.db')}` }),
});
