/**
 * What the conformance suite and its worker processes agree on.
 * @module
 */
import { createHash } from 'node:crypto';

/** What a worker is asked to do. */
export interface WorkerTask {
  mode: 'stampede' | 'writer' | 'holder';
  type: string;
  options: Record<string, unknown>;
  /** A module exporting `register(manager)`, for back-ends that are not built in. */
  registerModule?: string;
  namespace: string;
  key: string;
  callers: number;
  createMs: number;
  countFile: string;
  keys: number;
}

/** A value that proves it was written whole: its checksum covers its payload. */
export function checkedValue(payload: string): { payload: string; sha: string } {
  return { payload, sha: createHash('sha256').update(payload).digest('hex') };
}

export function isWhole(value: unknown): boolean {
  const candidate = value as { payload?: unknown; sha?: unknown } | undefined;
  if (typeof candidate?.payload !== 'string') return false;
  return createHash('sha256').update(candidate.payload).digest('hex') === candidate.sha;
}
