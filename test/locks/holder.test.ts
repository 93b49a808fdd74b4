/**
 * Lock holders: a token names its process and host, and only a process of this host that is gone counts as a dead
 * holder (another host, this process, a live process or a token of another format is left to the lease).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HolderChecks, holderPid, isDeadLocalHolder, newHolderToken } from '../../src/locks/holder.js';

function tokenOfPid(pid: number): string {
  const [random, , host] = newHolderToken().split(':');
  return `${String(random)}:${String(pid)}:${String(host)}`;
}

describe('lock holder tokens', () => {
  it('are unique and name this process', () => {
    const token = newHolderToken();
    expect(token).not.toBe(newHolderToken());
    expect(token.split(':')[1]).toBe(String(process.pid));
  });

  it('count a process of this host that exited as dead', () => {
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    expect(isDeadLocalHolder(tokenOfPid(Number(child.stdout.toString())))).toBe(true);
  });

  it('count this process, a live one, another host and other formats as alive', () => {
    expect(isDeadLocalHolder(newHolderToken())).toBe(false);
    // PID 1 always exists (it may belong to another user: EPERM still means it exists).
    expect(isDeadLocalHolder(tokenOfPid(1))).toBe(false);
    expect(isDeadLocalHolder(`abc:${String(2 ** 22 + 7)}:another-host-id`)).toBe(false);
    expect(isDeadLocalHolder('a token without a host')).toBe(false);
    expect(isDeadLocalHolder(`abc:${String(process.pid)}`)).toBe(false);
  });
});

describe('looks at a lock holder', () => {
  it('at the first failed try, then at most once a second', () => {
    const checks = new HolderChecks();
    expect(checks.due(10_000)).toBe(true);
    expect(checks.due(10_010)).toBe(false);
    expect(checks.due(10_999)).toBe(false);
    expect(checks.due(11_000)).toBe(true);
  });

  it('reads the process id of a token, and nothing from another format', () => {
    expect(holderPid(newHolderToken())).toBe(process.pid);
    expect(holderPid('no pid here')).toBeUndefined();
  });
});
