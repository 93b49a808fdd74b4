/**
 * A child process of the conformance suite: several OS processes working on one store.
 * Modes (the first argument is a JSON {@link WorkerTask}):
 * - `stampede`: after "go" on stdin, `callers` concurrent `get`s of one key with a slow createfunc; each creation
 *   appends a line to `countFile`; prints the values received as JSON.
 * - `writer`: writes self-checking values to `keys` keys in a loop until killed; prints "ready" after the first.
 * - `holder`: starts creating `key` with a createfunc that never ends, prints "creating", and waits to be killed.
 * @module
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { CacheManager } from '../cache/index.js';
import { checkedValue, type WorkerTask } from './worker-protocol.js';

async function waitForGo(): Promise<void> {
  await new Promise<void>((resolve) => {
    process.stdin.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('go')) resolve();
    });
  });
}

async function stampede(manager: CacheManager, task: WorkerTask): Promise<void> {
  const cache = manager.getCache<string>(task.namespace);
  // Open the store's connections before the start signal, so that every process races from the same point.
  await cache.has('warm-up');
  process.stdout.write('ready\n');
  await waitForGo();
  const values = await Promise.all(
    Array.from({ length: task.callers }, () =>
      cache.get(task.key, {
        createfunc: async () => {
          appendFileSync(task.countFile, `${process.pid}\n`);
          await sleep(task.createMs);
          return `created by ${process.pid}`;
        },
      }),
    ),
  );
  process.stdout.write(`${JSON.stringify(values)}\n`);
}

async function writer(manager: CacheManager, task: WorkerTask): Promise<void> {
  const cache = manager.getCache(task.namespace);
  for (let round = 0; ; round += 1) {
    const writes = Array.from({ length: task.keys }, (_unused, index) =>
      cache.put(`${task.key}-${index}`, checkedValue(`${round}:${index}:`.padEnd(32_768 + index * 97, 'x'))),
    );
    await Promise.all(writes);
    if (round === 0) process.stdout.write('ready\n');
  }
}

async function holder(manager: CacheManager, task: WorkerTask): Promise<void> {
  const cache = manager.getCache(task.namespace);
  // Keeps the process alive: the lock's renewal timer does not.
  setInterval(() => undefined, 1000);
  await cache.get(task.key, {
    createfunc: () => {
      process.stdout.write('creating\n');
      return new Promise<never>(() => undefined);
    },
  });
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as WorkerTask;
  // The options of a back-end the module below registers are not known yet: the suite's own process checked them.
  const manager = new CacheManager({
    type: task.type,
    ...task.options,
    knownOptions: Object.keys(task.options),
    onEvent: () => undefined,
  });
  if (task.registerModule !== undefined) {
    const module = (await import(pathToFileURL(task.registerModule).href)) as {
      register: (target: CacheManager) => void;
    };
    module.register(manager);
  }
  if (task.mode === 'stampede') await stampede(manager, task);
  else if (task.mode === 'holder') await holder(manager, task);
  else await writer(manager, task);
  await manager.close();
  process.exit(0);
}

await main();
