/**
 * The file back-end's keys(), prune() and clear() open a bounded number of files at a time, whatever the size of the
 * namespace: run in a process whose open-file limit (256) is far below the namespace's 2,000 entries.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('./fixtures/file-many-entries.ts', import.meta.url));

describe('file back-end at more entries than open files', () => {
  it('lists, prunes and clears 2,000 entries under a 256 open-file limit', () => {
    const output = execFileSync('bash', ['-c', 'ulimit -n 256 && exec node --import tsx "$0" 2000', CHILD], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(JSON.parse(output)).toEqual({
      keys: 2000,
      pruned: 1000,
      afterPrune: 1000,
      afterClear: 0,
      leftovers: 0,
    });
  });
});
