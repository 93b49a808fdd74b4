/**
 * beaker-ts/testing needs no particular test runner: the conformance suite declares itself in the functions it is
 * given, so node:test runs it as well as Vitest (test/backends/*.test.ts), and it fails a back-end that is wrong.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./fixtures/node-test-conformance.ts', import.meta.url));

/** Runs the fixture under node:test; returns its exit status and its TAP summary counts. */
function runUnderNodeTest(backend: 'memory' | 'forgetful'): {
  status: number | null;
  pass: number;
  fail: number;
} {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', FIXTURE], {
    encoding: 'utf8',
    env: { ...process.env, CONFORMANCE_BACKEND: backend },
  });
  const count = (name: string): number =>
    Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(run.stdout)?.[1] ?? -1);
  return { status: run.status, pass: count('pass'), fail: count('fail') };
}

it('runs the whole suite under node:test, and the memory back-end passes it', () => {
  const result = runUnderNodeTest('memory');
  expect(result).toMatchObject({ status: 0, fail: 0 });
  // Storage operations, awkward keys, namespace pairs, every value type, the cache behaviours.
  expect(result.pass).toBeGreaterThan(50);
}, 60_000);

it('fails, under node:test, a back-end that lists no keys', () => {
  const result = runUnderNodeTest('forgetful');
  expect(result.status).not.toBe(0);
  expect(result.fail).toBeGreaterThan(10);
}, 60_000);
