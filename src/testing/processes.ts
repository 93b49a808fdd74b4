/**
 * Runs conformance workers as separate OS processes (plain `node` for the built package, `node --import tsx` when
 * the suite runs from TypeScript sources).
 * @module
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerTask } from './worker-protocol.js';

const workerUrl = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);

/** A running worker and its output so far. */
export interface RunningWorker {
  child: ChildProcessWithoutNullStreams;
  /** Resolves when the worker printed `line` (or rejects when it exits first). */
  waitFor(line: string): Promise<void>;
  /** Resolves to everything the worker printed, once it exited with code 0. */
  finished: Promise<string>;
}

export function startWorker(task: WorkerTask): RunningWorker {
  const script = fileURLToPath(workerUrl);
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...loader, script, JSON.stringify(task)], { stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  const listeners: (() => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const listener of listeners) listener();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const finished = new Promise<string>((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`worker exited with ${signal ?? code}: ${stderr}`));
      for (const listener of listeners) listener();
    });
  });
  finished.catch(() => undefined);
  return {
    child,
    finished,
    waitFor: (line) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (stdout.split('\n').includes(line)) resolve();
          else if (child.exitCode !== null || child.signalCode !== null) {
            reject(new Error(`worker exited before printing ${line}: ${stderr}`));
          }
        };
        listeners.push(check);
        check();
      }),
  };
}
