/** ext:database on PostgreSQL and MariaDB (on the machine, or started by scripts/services.sh) and on a SQLite file. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeBackendConformance } from '../../src/testing/index.js';
import { vitestRunner } from '../helpers/vitest-runner.js';
import { describeServerConformance } from '../helpers/server-stores.js';

await describeServerConformance((label) => label.startsWith('ext:database'), {
  table_name: 'beaker_ts_conformance',
});

const sqliteDir = mkdtempSync(join(tmpdir(), 'beaker-sqlite-'));
describeBackendConformance({
  runner: vitestRunner,
  type: 'ext:database',
  label: 'ext:database on SQLite',
  deadHolderTakeover: true,
  options: () => ({ url: `sqlite:///${join(sqliteDir, 'cache.db')}` }),
});
