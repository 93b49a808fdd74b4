/**
 * SQLite for the database back-end, through libsql (SQLite with prebuilt binaries; an optional peer dependency).
 * libsql's calls are synchronous, and a write may wait for another process's lock, so the connection lives in a
 * worker thread: the event loop never blocks on the database.
 * @module
 */
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SqliteError } from '../../shared/errors.js';
import { loadClient } from '../kit/load-client.js';
import { LIBSQL } from './descriptor.js';
import { FileNotifier } from '../../locks/file-notifier.js';
import type { SqlClient, SqlResult } from './sql-client.js';

/** How long a write waits for another connection's lock before failing (SQLite's busy timeout). */
const BUSY_TIMEOUT_MS = 5000;

// The worker's code, kept here as plain JavaScript so that it runs the same from `src/` (tests) and `dist/`.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.libsql);
let db;
const statements = new Map();
function statement(sql) {
  let prepared = statements.get(sql);
  if (!prepared) {
    prepared = db.prepare(sql);
    statements.set(sql, prepared);
  }
  return prepared;
}
parentPort.on('message', ({ id, sql, params }) => {
  try {
    if (!db) {
      const opened = new Database(workerData.file);
      // The busy timeout first: switching to WAL needs a lock that other processes opening the file may hold.
      opened.exec('PRAGMA busy_timeout = ' + workerData.busyTimeoutMs);
      if (workerData.file !== ':memory:') opened.exec('PRAGMA journal_mode = WAL');
      db = opened;
    }
    const prepared = statement(sql);
    // Bytes arrive as Uint8Array (structured clone); the driver binds Buffers as blobs.
    const bound = params.map((p) => (p instanceof Uint8Array ? Buffer.from(p.buffer, p.byteOffset, p.byteLength) : p));
    if (prepared.reader) parentPort.postMessage({ id, rows: prepared.all(bound), affected: 0 });
    else parentPort.postMessage({ id, rows: [], affected: prepared.run(bound).changes });
  } catch (error) {
    parentPort.postMessage({ id, error: { message: String(error && error.message), code: error && error.code } });
  }
});
`;

interface Reply {
  id: number;
  rows?: Record<string, unknown>[];
  affected?: number;
  error?: { message: string; code?: string };
}

/** Opens `file` (`:memory:` for a private in-memory database) in a worker thread. */
export async function openSqlite(file: string, statementTimeoutMs: number): Promise<SqlClient> {
  const libsql = await loadClient(LIBSQL, 'SQLite in the ext:database back-end');
  const path = file === ':memory:' ? file : resolve(file);
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { libsql, file: path, busyTimeoutMs: BUSY_TIMEOUT_MS },
  });
  worker.unref();
  // Lock releases reach the other processes on this host through a file beside the database (none in memory).
  const notifier = path === ':memory:' ? undefined : new FileNotifier(`${path}-beaker-notify`);
  const pending = new Map<number, { resolve: (result: SqlResult) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  const settle = (reply: Reply): void => {
    const waiter = pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id);
    // The worker keeps the process alive only while a statement is in flight.
    if (pending.size === 0) worker.unref();
    if (reply.error) waiter.reject(new SqliteError(reply.error.message, reply.error.code));
    else waiter.resolve({ rows: reply.rows ?? [], affected: reply.affected ?? 0 });
  };
  worker.on('message', settle);
  worker.on('error', (error: Error) => {
    failure = error;
    for (const id of [...pending.keys()]) settle({ id, error: { message: error.message } });
  });
  return {
    dialect: 'sqlite',
    query(sql, params = []) {
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      return new Promise<SqlResult>((resolvePromise, reject) => {
        const timer = setTimeout(() => {
          settle({ id, error: { message: `no answer from SQLite within ${String(statementTimeoutMs)} ms` } });
        }, statementTimeoutMs + BUSY_TIMEOUT_MS);
        pending.set(id, {
          resolve: (result) => {
            clearTimeout(timer);
            resolvePromise(result);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        worker.ref();
        worker.postMessage({ id, sql, params: [...params] });
      });
    },
    async close() {
      notifier?.close();
      await worker.terminate();
    },
    ...(notifier
      ? {
          listen: (channel, onMessage) => notifier.listen(channel, onMessage),
          notify: (channel, payload) => notifier.notify(channel, payload),
        }
      : {}),
  };
}
