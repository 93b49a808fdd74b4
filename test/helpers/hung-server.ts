/** A server that stops answering (SIGSTOP): what every back-end with a command timeout must do about it. */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { AnyBackend } from '../../src/backends/index.js';
import { BackendError } from '../../src/shared/errors.js';

/** Resolves once the kernel shows `child` stopped: a thread mid-request can still answer just after the signal. */
async function stopped(child: ChildProcess): Promise<void> {
  const statusFile = `/proc/${String(child.pid)}/stat`;
  // The state follows the command name in parentheses: "T" is stopped.
  while (!/\) T /.test(readFileSync(statusFile, 'utf8'))) await sleep(5);
}

/**
 * With `server` stopped, a read through `backend` fails with a BackendError after its command timeout of
 * `timeoutMs` (not sooner, not much later); once `server` runs again, reads succeed again without any reconnect call.
 */
export async function expectTimeoutWhileStopped(
  backend: AnyBackend,
  server: ChildProcess,
  timeoutMs = 5000,
): Promise<void> {
  await backend.set('hung', 'k', 'before');
  server.kill('SIGSTOP');
  await stopped(server);
  const started = Date.now();
  const failure = await backend.get('hung', 'k').then(
    () => undefined,
    (error: unknown) => error,
  );
  const waited = Date.now() - started;
  server.kill('SIGCONT');
  expect(failure).toBeInstanceOf(BackendError);
  expect(waited).toBeGreaterThanOrEqual(timeoutMs - 100);
  expect(waited).toBeLessThan(timeoutMs + 2000);
  let value: unknown;
  for (let attempt = 0; attempt < 50 && value === undefined; attempt += 1) {
    value = await backend.get('hung', 'k').catch(() => undefined);
    if (value === undefined) await sleep(100);
  }
  expect(value).toBe('before');
}
