/**
 * Runs Python Beaker as an oracle: the test cases go to `beaker_oracle.py` as JSON, its answers come back as JSON.
 * Python Beaker comes from Debian (`apt-get install python3-beaker python3-pastedeploy`).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** One question for Python Beaker. */
export interface OracleCase {
  kind: 'coerce_session' | 'coerce_cache' | 'parse_cache' | 'session_middleware' | 'ini';
  input: Record<string, unknown>;
  include_defaults?: boolean;
}

/** Python Beaker's answer: the returned options, or the text of the exception. */
export type OracleResult = { ok: unknown } | { error: string };

const SCRIPT = fileURLToPath(new URL('./beaker_oracle.py', import.meta.url));

/** The Python that has Beaker: `BEAKER_PYTHON`, else Debian's. */
export const PYTHON = process.env.BEAKER_PYTHON ?? '/usr/bin/python3';

/** Why the oracle cannot run here, or `undefined` when it can. */
export function oracleUnavailable(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import beaker, paste.deploy'], { encoding: 'utf8' });
  if (probe.error) return `${PYTHON} cannot be run (${probe.error.message})`;
  if (probe.status !== 0)
    return `${PYTHON} has no Beaker/PasteDeploy: apt-get install python3-beaker python3-pastedeploy`;
  return undefined;
}

/** Asks Python Beaker every case at once (one process). */
export function askBeaker(cases: readonly OracleCase[]): { version: string; results: OracleResult[] } {
  const run = spawnSync(PYTHON, [SCRIPT], { input: JSON.stringify(cases), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`beaker_oracle.py failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { version: string; results: OracleResult[] };
}

/** Tags values as the oracle does, so TypeScript and Python results compare with `toEqual`. */
export function toOracleForm(value: unknown, option?: string): unknown {
  if (value instanceof Date) return { $date: value.toISOString() };
  // beaker-ts keeps cookie_expires durations as seconds; Beaker keeps a timedelta.
  if (option === 'cookie_expires' && typeof value === 'number') return { $seconds: value };
  if (Array.isArray(value)) return value.map((item) => toOracleForm(item));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toOracleForm(item, key)]));
  }
  return value;
}

/** Turns `{ $date }` tags of a case's input back into Dates for the TypeScript side. */
export function fromOracleForm(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromOracleForm);
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (typeof record.$date === 'string') return new Date(record.$date);
    return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, fromOracleForm(item)]));
  }
  return value;
}
