/**
 * What ships (README, CHANGELOG, docs/, and the sources whose TSDoc goes into the declarations) stands alone: it
 * states behaviour instead of citing the team's notes on Beaker, which a user does not have. RFCs are public.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const CITATION = /(?<!RFC \d+ )§|\bspec §|beaker-reference|shared\/spec/;

function filesUnder(dir: string, ending: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith(ending))
    .map((name) => join(dir, name));
}

it('cites no document the reader does not have', () => {
  const shipped = ['README.md', 'CHANGELOG.md', ...filesUnder('docs', '.md'), ...filesUnder('src', '.ts')];
  const citations = shipped.flatMap((file) =>
    readFileSync(join(root, file), 'utf8')
      .split('\n')
      .flatMap((line, index) =>
        CITATION.test(line) ? [`${relative(root, join(root, file))}:${index + 1}: ${line.trim()}`] : [],
      ),
  );
  expect(citations).toEqual([]);
});
