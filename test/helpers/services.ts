/**
 * The skip policy for suites that need something outside Node (a server, Python Beaker): on a developer machine
 * without it the suite is skipped with a loud reason; under CI (`CI=true`) a skip is a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'vitest';

/** Declares `name` as a normal suite when `unavailable` is undefined, else skips it (or fails it under CI). */
export function describeWhenAvailable(name: string, unavailable: string | undefined, body: () => void): void {
  if (unavailable === undefined) {
    describe(name, body);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('has what it needs', () => {
        throw new Error(`${name} cannot run: ${unavailable}. Under CI=true a skipped suite is a failure.`);
      });
    });
    return;
  }
  console.warn(`\n*** SKIPPED: ${name}: ${unavailable} ***\n`);
  describe.skip(name, body);
}

/** Why a TCP server is not reachable at host:port, or undefined when it answers. */
export async function unreachable(host: string, port: number, what: string): Promise<string | undefined> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, host);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(`${what} does not answer on ${host}:${port} (start it with: bash scripts/services.sh start)`);
    }, 1000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve(undefined);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(`${what} does not answer on ${host}:${port} (start it with: bash scripts/services.sh start)`);
    });
  });
}

/** Resolves once a server started by a test answers on 127.0.0.1:`port` (within 10 s). */
export async function waitForPort(port: number, what: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if ((await unreachable('127.0.0.1', port, what)) === undefined) return;
    await sleep(100);
  }
  throw new Error(`${what} did not start on port ${String(port)}`);
}

/**
 * Starts a redis-server on 127.0.0.1:`port` with its data in `dir` and every write on disk before it answers
 * (appendfsync always): what it acknowledged is there after a crash and a restart.
 */
export function spawnDurableRedis(port: number, dir: string): ChildProcess {
  const options = ['--port', String(port), '--bind', '127.0.0.1', '--save', ''];
  return spawn('redis-server', [...options, '--appendonly', 'yes', '--appendfsync', 'always'], {
    cwd: dir,
    stdio: 'ignore',
  });
}
