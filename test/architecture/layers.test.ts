/**
 * The layers of src/ import one way (CONTRIBUTING.md, "Where things go"): each folder imports only folders below it,
 * a back-end's folder imports no other back-end, and the kit imports no back-end.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Each layer may import the layers with a lower rank; layers of one rank may not import each other. */
const RANK: Readonly<Record<string, number>> = {
  shared: 0,
  locks: 1,
  backends: 2,
  config: 3,
  cache: 4,
  session: 4,
  adapters: 5,
  testing: 5,
  '.': 6,
};

const BACKEND_SHARED = new Set(['.', 'kit']);

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The relative modules a file imports, statically or with `import()`. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = text.matchAll(/(?:from|import)\s*\(?\s*'(\.\.?\/[^']+)'/g);
  return [...found].map((match) => relative(SRC, resolve(dirname(file), match[1] as string)));
}

function layerOf(path: string): string {
  const [first, ...rest] = path.split('/');
  return rest.length === 0 ? '.' : (first as string);
}

/** `redis` for src/backends/redis/index.ts, `.` for src/backends/define.ts. */
function backendFolderOf(path: string): string {
  const parts = path.split('/');
  return parts.length > 2 ? (parts[1] as string) : '.';
}

const edges = sourceFiles(SRC).flatMap((file) =>
  importsOf(file).map((target) => ({ from: relative(SRC, file), to: target })),
);

describe('the layers of src/', () => {
  it('every folder is a known layer', () => {
    const layers = new Set(edges.flatMap((edge) => [layerOf(edge.from), layerOf(edge.to)]));
    expect([...layers].filter((layer) => !(layer in RANK))).toEqual([]);
  });

  it('import only downwards', () => {
    const upward = edges.filter((edge) => {
      const from = layerOf(edge.from);
      const to = layerOf(edge.to);
      return from !== to && (RANK[to] as number) >= (RANK[from] as number);
    });
    expect(upward.map((edge) => `${edge.from} -> ${edge.to}`)).toEqual([]);
  });

  it('a back-end imports no other back-end, and the kit none at all', () => {
    const across = edges.filter((edge) => {
      if (layerOf(edge.from) !== 'backends' || layerOf(edge.to) !== 'backends') return false;
      const from = backendFolderOf(edge.from);
      const to = backendFolderOf(edge.to);
      if (from === to || BACKEND_SHARED.has(to)) return false;
      // The registry's list of built-in descriptors is the one place that names every back-end.
      return !(from === '.' && edge.from === 'backends/built-in.ts' && edge.to.endsWith('/descriptor.js'));
    });
    expect(across.map((edge) => `${edge.from} -> ${edge.to}`)).toEqual([]);
  });
});
