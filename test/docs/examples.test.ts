/**
 * Every TypeScript block of README.md and docs/*.md compiles. Each block is written as a module of its own to
 * test/docs/.generated/ (gitignored), where `beaker-ts` and its subpaths resolve to the sources as package.json's
 * `exports` map them, and the whole set is type-checked in one compiler run per module resolution (`node16` and
 * `bundler`) with the repository's strict options. A block fenced as ```ts no-check is not compiled.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GENERATED = join(ROOT, 'test/docs/.generated');
const DOCUMENTS = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((name) => `docs/${name}`)].filter(
  (path) => path.endsWith('.md'),
);

interface Block {
  /** `docs/sessions.md:92`: the document and the line of the opening fence. */
  name: string;
  document: string;
  /** The line (1-based) of the block's first line of code. */
  firstLine: number;
  code: string;
  /** The generated file it is compiled as. */
  file: string;
}

/** The ```ts and ```typescript blocks of a Markdown document, except those marked `no-check`. */
function extractBlocks(document: string): Block[] {
  const lines = readFileSync(join(ROOT, document), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const fence = /^(\s*)```(\w+)?(.*)$/.exec(lines[index] ?? '');
    if (!fence) continue;
    const [, indent = '', language = '', info = ''] = fence;
    const end = lines.findIndex((line, at) => at > index && line.trim() === '```');
    if (end < 0) throw new Error(`${document}:${index + 1}: a code fence is never closed`);
    const checked = (language === 'ts' || language === 'typescript') && !/\bno-check\b/.test(info);
    if (checked) {
      const code = lines
        .slice(index + 1, end)
        .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
        .join('\n');
      const name = `${document}:${index + 1}`;
      const file = join(GENERATED, `${basename(document, '.md')}-${index + 1}.ts`);
      blocks.push({ name, document, firstLine: index + 2, code, file });
    }
    index = end;
  }
  return blocks;
}

const BLOCKS = DOCUMENTS.flatMap(extractBlocks);

/** package.json `exports`, as `paths` from test/docs/.generated/ to the sources (dist/x.js is src/x.ts). */
function exportPaths(): Record<string, string[]> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, string | { default: string }>;
  };
  return Object.fromEntries(
    Object.entries(pkg.exports).flatMap(([subpath, target]) =>
      typeof target === 'string'
        ? []
        : [
            [
              subpath === '.' ? 'beaker-ts' : `beaker-ts/${subpath.slice(2)}`,
              [`../../../${target.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')}`],
            ],
          ],
    ),
  );
}

const PATHS = exportPaths();

const MODES = {
  node16: { module: 'node16', moduleResolution: 'node16' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
} as const;

/** Writes the blocks (each made a module, so that they may await at the top and not share names). */
function writeBlocks(): void {
  rmSync(GENERATED, { recursive: true, force: true });
  mkdirSync(GENERATED, { recursive: true });
  for (const block of BLOCKS) writeFileSync(block.file, `${block.code}\nexport {};\n`);
  for (const [mode, options] of Object.entries(MODES)) {
    const config = {
      extends: '../../../tsconfig.json',
      compilerOptions: { ...options, noEmit: true, paths: PATHS },
      include: ['*.ts'],
      exclude: [],
    };
    writeFileSync(join(GENERATED, `tsconfig.${mode}.json`), `${JSON.stringify(config, null, 2)}\n`);
  }
}

/** One compiler run over every block: its messages, by generated file (`<outside>` for any other file). */
function typecheck(mode: keyof typeof MODES): Map<string, string[]> {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(GENERATED, `tsconfig.${mode}.json`), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error(`cannot read tsconfig.${mode}.json`);
  const missing = BLOCKS.filter((block) => !parsed.fileNames.includes(block.file));
  if (missing.length > 0) throw new Error(`not compiled: ${missing.map((block) => block.name).join(', ')}`);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  const messages = new Map<string, string[]>();
  const byFile = new Map(BLOCKS.map((block) => [block.file, block]));
  for (const diagnostic of [...parsed.errors, ...ts.getPreEmitDiagnostics(program)]) {
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const file = diagnostic.file?.fileName;
    const block = file === undefined ? undefined : byFile.get(file);
    let message: string;
    let key: string;
    if (block && diagnostic.file && diagnostic.start !== undefined) {
      const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      key = block.file;
      message = `${block.document}:${block.firstLine + line}: TS${diagnostic.code}: ${text}`;
    } else {
      key = '<outside>';
      message = `${file === undefined ? '' : `${relative(ROOT, file)}: `}TS${diagnostic.code}: ${text}`;
    }
    messages.set(key, [...(messages.get(key) ?? []), message]);
  }
  return messages;
}

writeBlocks();

it('finds the TypeScript blocks of README.md and docs/', () => {
  expect(BLOCKS.length).toBeGreaterThan(10);
  expect(new Set(BLOCKS.map((block) => block.document))).toContain('docs/sessions.md');
});

for (const mode of Object.keys(MODES) as (keyof typeof MODES)[]) {
  describe(`the documentation's TypeScript compiles (moduleResolution ${mode})`, () => {
    let messages = new Map<string, string[]>();
    beforeAll(() => {
      messages = typecheck(mode);
    }, 60_000);

    for (const block of BLOCKS) {
      it(block.name, () => {
        expect(messages.get(block.file) ?? []).toEqual([]);
      });
    }

    it('raises nothing outside the blocks (configuration, sources)', () => {
      expect(messages.get('<outside>') ?? []).toEqual([]);
    });
  });
}
