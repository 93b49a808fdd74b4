/**
 * The demo's two worker processes: the primary forks them onto one shared port (node:cluster hands connections out
 * round-robin), relays questions between them, and stops them on SIGINT/SIGTERM. A worker asks every worker (itself
 * included) for its cache statistics, optionally after clearing a region: memory regions live in each process, so
 * both must be asked to clear theirs.
 * @module
 */
import cluster, { type Worker } from 'node:cluster';
import type { CacheStats } from '../../src/index.js';

/** Sums statistics: a region's namespaces, or a region's workers. */
export const sumStats = (all: CacheStats[]): CacheStats =>
  all.reduce(
    (sum, stats) => ({
      hits: sum.hits + stats.hits,
      misses: sum.misses + stats.misses,
      creations: sum.creations + stats.creations,
      staleServes: sum.staleServes + stats.staleServes,
      refreshes: sum.refreshes + stats.refreshes,
      lockWaits: sum.lockWaits + stats.lockWaits,
      errors: sum.errors + stats.errors,
    }),
    { hits: 0, misses: 0, creations: 0, staleServes: 0, refreshes: 0, lockWaits: 0, errors: 0 },
  );

/** What one worker reports about one cache region. */
export interface RegionReport {
  region: string;
  type: string;
  expire: number | null;
  namespaces: string[];
  /** Fresh entries this worker can see (its own for memory, everyone's for a shared store). */
  entries: number;
  stats: CacheStats;
}

/** One worker's answer to a {@link Question}. */
export interface WorkerReport {
  pid: number;
  regions: RegionReport[];
}

/** What a worker asks all workers: their statistics, after clearing `invalidate` when it is given. */
export interface Question {
  invalidate?: string;
}

type ToPrimary =
  { kind: 'ask'; id: number; question: Question } | { kind: 'answer'; id: number; report: WorkerReport };
type ToWorker =
  | { kind: 'question'; id: number; question: Question }
  | { kind: 'answers'; id: number; reports: WorkerReport[] }
  | { kind: 'shutdown' };

/** How long the primary waits for a worker's answer before leaving it out. */
const ANSWER_TIMEOUT_MS = 3000;
/** How long a worker may take to stop before it is killed. */
const STOP_TIMEOUT_MS = 5000;

/** The running primary. */
export interface Primary {
  url: string;
  pids: () => number[];
  /** Stops every worker (they finish their requests and close their stores), then resolves. */
  stop(): Promise<void>;
}

const isMessage = (message: unknown): message is { kind: string } =>
  typeof message === 'object' && message !== null && 'kind' in message;

/** Forks `workers` workers listening on `port` (0: one free port shared by all) and resolves once all listen. */
export async function startPrimary(options: { workers: number; port: number }): Promise<Primary> {
  let stopping = false;
  let nextId = 0;
  const gathering = new Map<number, { reports: WorkerReport[]; waiting: Set<number>; done: () => void }>();
  const live = (): Worker[] =>
    Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);

  const send = (worker: Worker, message: ToWorker): void => {
    if (worker.isConnected()) worker.send(message);
  };

  /** Asks every live worker and gives the answers to `asker`. */
  const relay = (asker: Worker, askId: number, question: Question): void => {
    const id = nextId++;
    const workers = live();
    const entry = {
      reports: [] as WorkerReport[],
      waiting: new Set(workers.map((w) => w.id)),
      done: () => {},
    };
    const finish = (): void => {
      clearTimeout(timer);
      gathering.delete(id);
      entry.reports.sort((a, b) => a.pid - b.pid);
      send(asker, { kind: 'answers', id: askId, reports: entry.reports });
    };
    // A worker that died or hangs is left out rather than holding up the page.
    const timer = setTimeout(finish, ANSWER_TIMEOUT_MS);
    entry.done = finish;
    gathering.set(id, entry);
    for (const worker of workers) send(worker, { kind: 'question', id, question });
  };

  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isMessage(message)) return;
    const received = message as ToPrimary;
    if (received.kind === 'ask') relay(worker, received.id, received.question);
    else if (received.kind === 'answer') {
      const entry = gathering.get(received.id);
      if (!entry) return;
      entry.reports.push(received.report);
      entry.waiting.delete(worker.id);
      if (entry.waiting.size === 0) entry.done();
    }
  });

  const fork = (): Worker => cluster.fork({ DEMO_WORKER_PORT: String(options.port) });
  const listening = Array.from({ length: options.workers }, () => {
    const worker = fork();
    return new Promise<number>((resolve, reject) => {
      worker.once('listening', (address) => {
        resolve(address.port);
      });
      worker.once('exit', (code, signal) => {
        reject(
          new Error(`worker ${worker.process.pid} exited (${signal ?? `code ${code}`}) before listening`),
        );
      });
    });
  });
  let port: number;
  try {
    [port = options.port] = await Promise.all(listening);
  } catch (error) {
    stopping = true;
    for (const worker of live()) worker.kill();
    throw error;
  }

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    // Keep two workers serving: the demo's point is that two processes share the cache.
    console.error(`worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting another`);
    fork();
  });

  return {
    url: `http://127.0.0.1:${port}`,
    pids: () => live().map((w) => w.process.pid ?? 0),
    stop: async () => {
      stopping = true;
      await Promise.all(
        live().map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (worker.isDead()) {
                resolve();
                return;
              }
              const kill = setTimeout(() => {
                worker.kill('SIGKILL');
              }, STOP_TIMEOUT_MS);
              worker.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              send(worker, { kind: 'shutdown' });
            }),
        ),
      );
    },
  };
}

/** A worker's side of the channel. */
export interface WorkerChannel {
  /** Every worker's report, the asking worker's included, in pid order. */
  askAll(question: Question): Promise<WorkerReport[]>;
}

/**
 * Connects this worker to the primary: `answer` builds this worker's report for a question; `shutdown` runs when the
 * primary asks the worker to stop or goes away.
 */
export function connectWorker(
  answer: (question: Question) => Promise<WorkerReport>,
  shutdown: () => void,
): WorkerChannel {
  const sendToPrimary = (message: ToPrimary): void => {
    if (process.connected) process.send?.(message);
  };
  let nextId = 0;
  const pending = new Map<number, (reports: WorkerReport[]) => void>();
  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return;
    const received = message as ToWorker;
    if (received.kind === 'question') {
      answer(received.question).then(
        (report) => {
          sendToPrimary({ kind: 'answer', id: received.id, report });
        },
        (error: unknown) => {
          console.error(error);
        },
      );
    } else if (received.kind === 'answers') {
      pending.get(received.id)?.(received.reports);
      pending.delete(received.id);
    } else shutdown();
  });
  // A primary that was killed cannot stop its workers: they stop when the channel closes.
  process.on('disconnect', shutdown);
  return {
    askAll: (question) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        // The primary answers within its own timeout; silence past it means the primary is gone.
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error('the primary process did not answer'));
        }, ANSWER_TIMEOUT_MS * 2);
        pending.set(id, (reports) => {
          clearTimeout(timer);
          resolve(reports);
        });
        sendToPrimary({ kind: 'ask', id, question });
      }),
  };
}
