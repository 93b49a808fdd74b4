/**
 * `npm start`: the beaker-ts demo web application on 127.0.0.1 (PORT, default 8080; 0 picks a free port),
 * configured from examples/demo/development.ini (file sessions and caches under ./data). The primary process forks
 * two workers that share the port and the stores; SIGINT or SIGTERM stops them and then the primary.
 */
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { startWorker, type DemoWorker } from './app.js';
import { connectWorker, startPrimary } from './cluster.js';

const WORKERS = 2;
const iniPath = fileURLToPath(new URL('./development.ini', import.meta.url));

if (cluster.isPrimary) {
  const port = Number(process.env.PORT ?? 8080);
  const primary = await startPrimary({ workers: WORKERS, port }).catch((error: unknown) => {
    console.error(
      `beaker-ts demo could not start: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  });
  console.log(
    `beaker-ts demo on ${primary.url} (workers ${primary.pids().join(', ')}; configuration: ${iniPath}). Ctrl-C stops it.`,
  );
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void primary.stop().then(() => {
      console.log('beaker-ts demo stopped.');
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} else {
  let stopping = false;
  // Ctrl-C reaches every process of the terminal's group, and the primary also asks: stop once, whichever comes first.
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void worker.then((started) => started.close()).finally(() => process.exit(0));
  };
  const worker: Promise<DemoWorker> = startWorker({
    iniPath,
    port: Number(process.env.DEMO_WORKER_PORT ?? 8080),
    connect: (answer) => connectWorker(answer, stop),
  });
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // A worker that cannot listen (the port is taken) exits non-zero: the primary reports it and gives up.
  await worker.catch((error: unknown) => {
    console.error(`worker ${process.pid}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
