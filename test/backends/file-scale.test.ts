/**
 * The file back-end's keys(), getMany(), prune() and clear(), and Cache.keys() over it, open a bounded number of files at a
 * time, whatever the size of the namespace: run in a process whose open-file limit (256) is far below the namespace's entries (2,000 by default;
 * `BEAKER_FILE_SCALE_ENTRIES` sets another count, which the scale benchmark uses to run it at 100,000).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('./fixtures/file-many-entries.ts', import.meta.url));
const ENTRIES = Number(process.env.BEAKER_FILE_SCALE_ENTRIES ?? 2000);
/** Room for a slow disk: the child writes, reads twice and removes every entry (not a timed assertion). */
const TIMEOUT_MS = Math.max(60_000, ENTRIES * 10);

describe('file back-end at more entries than open files', () => {
  it(
    `lists, batch-reads, prunes and clears ${ENTRIES.toLocaleString('en-US')} entries under a 256 open-file limit`,
    () => {
      const output = execFileSync(
        'bash',
        ['-c', 'ulimit -n 256 && exec node --import tsx "$0" "$1"', CHILD, String(ENTRIES)],
        { encoding: 'utf8', timeout: TIMEOUT_MS },
      );
      expect(JSON.parse(output)).toEqual({
        keys: ENTRIES,
        read: ENTRIES,
        pruned: Math.ceil(ENTRIES / 2),
        afterPrune: Math.floor(ENTRIES / 2),
        afterClear: 0,
        leftovers: 0,
        cacheKeys: ENTRIES,
      });
    },
    TIMEOUT_MS + 5000,
  );
});
