/**
 * The built declarations as a TypeScript user meets them: test/types/fixtures/consumer.ts imports 'beaker-ts' and its
 * subpaths (resolved through package.json `exports` to dist/, which `npm test` builds first) and is compiled under
 * strict mode with node16 and with bundler module resolution. A type that stops working, or a mistake that starts
 * compiling (an unused `@ts-expect-error`), fails the test.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const consumer = fileURLToPath(new URL('fixtures/consumer.ts', import.meta.url));
const built = fileURLToPath(new URL('../../dist/index.d.ts', import.meta.url));

const MODES: [string, ts.CompilerOptions][] = [
  ['node16', { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 }],
  ['bundler', { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler }],
];

describe.each(MODES)('the built types, %s resolution', (_mode, resolution) => {
  it('compile a strict consumer that uses every adapter with typed session data', () => {
    expect(existsSync(built), 'dist/ is missing: run npm run build (npm test does)').toBe(true);
    const program = ts.createProgram([consumer], {
      ...resolution,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
      types: ['node'],
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      esModuleInterop: true,
    });
    // Other packages' own declarations are theirs to fix (@types/koa disagrees with content-disposition's types).
    const ours = ts
      .getPreEmitDiagnostics(program)
      .filter((diagnostic) => !diagnostic.file?.fileName.includes('/node_modules/'));
    const diagnostics = ours.map((diagnostic) => {
      const where = diagnostic.file?.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      const file = diagnostic.file?.fileName.replace(/^.*\/(node_modules|dist|test)\//, '$1/') ?? '';
      return `${file}:${String((where?.line ?? 0) + 1)}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
    });
    expect(diagnostics).toEqual([]);
  });
});
