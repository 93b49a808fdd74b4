import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeBackendConformance } from '../../src/testing/index.js';
import { vitestRunner } from '../helpers/vitest-runner.js';

describeBackendConformance({
  runner: vitestRunner,
  deadHolderTakeover: true,
  type: 'file',
  options: () => {
    const dir = mkdtempSync(join(tmpdir(), 'beaker-file-'));
    return { data_dir: join(dir, 'data'), lock_dir: join(dir, 'lock') };
  },
});
