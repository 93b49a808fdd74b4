/**
 * `session.lock()` holds across processes, on every back-end that processes share: two OS processes, each making 50
 * locked increments of one session's counter on the same store, leave it at exactly 100; a process killed while it
 * holds the lock neither stalls the next save for the lock wait nor lets it run without the lock; and one that hangs
 * (or whose host died) loses the lock when its short lease ends, before a waiting save would give up on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { SessionManager } from '../../src/index.js';
import { processSharedStores } from '../helpers/server-stores.js';
import { describeWhenAvailable } from '../helpers/services.js';

const CHILD = fileURLToPath(new URL('./fixtures/locked-increments.ts', import.meta.url));
const PROCESSES = 2;
const INCREMENTS = 50;
const SECRET = 'a-test-secret-of-at-least-32-bytes-0123456789';

const stores = await processSharedStores();

function startChild(mode: 'increment' | 'hold', options: Record<string, unknown>, id: string): ChildProcess {
  return spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, mode, JSON.stringify(options), id, String(INCREMENTS)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

async function runChild(options: Record<string, unknown>, id: string): Promise<void> {
  const child = startChild('increment', options, id);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`increments failed (exit ${String(code)}): ${stderr}`);
}

/** A manager on the store (its events recorded) and a stored session whose counter is 0. */
async function storedCounter(storeOptions: Record<string, unknown>): Promise<{
  events: string[];
  manager: SessionManager;
  options: Record<string, unknown>;
  id: string;
}> {
  const events: string[] = [];
  const options = { ...storeOptions, secret: SECRET, table_name: 'beaker_ts_session_locks' };
  const manager = new SessionManager({ ...options, onEvent: (event) => events.push(event.type) });
  const session = manager.session<{ count?: number }>(undefined);
  await session.set('count', 0);
  await session.save();
  return { events, manager, options, id: session.id };
}

/** Starts a process that takes the session's lock and holds it, and resolves once it holds it. */
async function lockHolder(options: Record<string, unknown>, id: string): Promise<ChildProcess> {
  const holder = startChild('hold', options, id);
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('locked')) resolve();
    });
    holder.on('exit', (code: number | null) => {
      reject(new Error(`the holder exited with ${String(code)}`));
    });
  });
  return holder;
}

for (const store of stores) {
  describeWhenAvailable(`session locks across processes: ${store.label}`, store.unavailable, () => {
    it(`${String(PROCESSES)} processes × ${String(INCREMENTS)} locked increments give ${String(PROCESSES * INCREMENTS)}`, async () => {
      const { manager, options, id } = await storedCounter(store.options);
      await Promise.all(Array.from({ length: PROCESSES }, () => runChild(options, id)));
      const stored = await manager.getById<{ count?: number }>(id);
      expect(await stored?.get('count')).toBe(PROCESSES * INCREMENTS);
      await manager.close();
    }, 120_000);

    it('saves at once, under the lock, after the lock holder was killed with SIGKILL', async () => {
      const { events, manager, options, id } = await storedCounter(store.options);
      const holder = await lockHolder(options, id);
      holder.kill('SIGKILL');
      await once(holder, 'exit');
      const next = await manager.getById<{ count?: number }>(id);
      await next?.set('count', 1);
      await next?.save();
      // A save that waited out the lock reports a lock-timeout and then runs without the lock.
      expect(events).not.toContain('lock-timeout');
      expect(await (await manager.getById<{ count?: number }>(id))?.get('count')).toBe(1);
      await manager.close();
    }, 60_000);

    it('saves under the lock, once its lease ends, while the lock holder hangs (SIGSTOP)', async () => {
      const { events, manager, options, id } = await storedCounter(store.options);
      const holder = await lockHolder(options, id);
      // A stopped process is alive but renews nothing, as a holder on a host that died.
      holder.kill('SIGSTOP');
      try {
        const next = await manager.getById<{ count?: number }>(id);
        await next?.set('count', 1);
        await next?.save();
        expect(events).not.toContain('lock-timeout');
        expect(await (await manager.getById<{ count?: number }>(id))?.get('count')).toBe(1);
      } finally {
        holder.kill('SIGKILL');
        await once(holder, 'exit');
        await manager.close();
      }
    }, 60_000);
  });
}
