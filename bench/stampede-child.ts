/**
 * One process of the cross-process stampede benchmark: `callers` concurrent get-or-create calls on one cold key of
 * a store shared by every process, for beaker-ts or a peer. Each creation appends a line to the count file.
 * Arguments: a JSON object { library, dir, countFile, callers, createMs }.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

interface Task {
  library:
    | 'beaker-ts file'
    | 'beaker-ts dbm'
    | 'beaker-ts server'
    | 'BentoCache (file L2)'
    | 'BentoCache (Redis L2)'
    | 'cache-manager 7 (keyv-file)'
    | 'cache-manager 7 (@keyv/redis)';
  dir: string;
  countFile: string;
  callers: number;
  createMs: number;
  /** beaker-ts on a server: the back-end options. */
  options?: Record<string, unknown>;
  /** Redis URL of the peers on Redis. */
  redisUrl?: string;
  /** A key or namespace no earlier run used (servers keep data between runs). */
  unique?: string;
}

const task = JSON.parse(process.argv[2] ?? '{}') as Task;
const create = async (): Promise<string> => {
  appendFileSync(task.countFile, `${process.pid}\n`);
  await sleep(task.createMs);
  return `created by ${process.pid}`;
};

/** Returns a get-or-create function on the shared store, and a close function. */
async function open(): Promise<{ getOrCreate: () => Promise<unknown>; close: () => Promise<void> }> {
  switch (task.library) {
    case 'beaker-ts file':
    case 'beaker-ts dbm': {
      const { CacheManager } = await import('../dist/index.js');
      const type = task.library === 'beaker-ts file' ? 'file' : 'dbm';
      const manager = new CacheManager({
        type,
        data_dir: join(task.dir, 'data'),
        lock_dir: join(task.dir, 'lock'),
      });
      const cache = manager.getCache('stampede');
      return { getOrCreate: () => cache.get('key', { createfunc: create }), close: () => manager.close() };
    }
    case 'beaker-ts server': {
      const { CacheManager } = await import('../dist/index.js');
      const manager = new CacheManager({ ...task.options });
      const cache = manager.getCache(`stampede-${task.unique ?? ''}`);
      // Connect before the start signal, as a running application would be.
      await cache.has('warm-up');
      return { getOrCreate: () => cache.get('key', { createfunc: create }), close: () => manager.close() };
    }
    case 'BentoCache (Redis L2)': {
      const { BentoCache, bentostore } = await import('bentocache');
      const { redisDriver } = await import('bentocache/drivers/redis');
      const { memoryDriver } = await import('bentocache/drivers/memory');
      const bento = new BentoCache({
        default: 'shared',
        stores: {
          shared: bentostore()
            .useL1Layer(memoryDriver({}))
            .useL2Layer(redisDriver({ connection: { host: '127.0.0.1', port: 6379, db: 5 } })),
        },
      });
      const key = `stampede-${task.unique ?? ''}`;
      await bento.has({ key: 'warm-up' });
      return {
        getOrCreate: () => bento.getOrSet({ key, factory: create, ttl: '1h' }),
        close: () => bento.disconnect(),
      };
    }
    case 'cache-manager 7 (@keyv/redis)': {
      const { createCache } = await import('cache-manager');
      const { Keyv } = await import('keyv');
      const { default: KeyvRedis } = await import('@keyv/redis');
      const cache = createCache({ stores: [new Keyv({ store: new KeyvRedis(task.redisUrl) })] });
      const key = `stampede-${task.unique ?? ''}`;
      await cache.get('warm-up');
      return {
        getOrCreate: () => cache.wrap(key, create, 3_600_000),
        close: async () => {
          await cache.disconnect();
        },
      };
    }
    case 'BentoCache (file L2)': {
      const { BentoCache, bentostore } = await import('bentocache');
      const { memoryDriver } = await import('bentocache/drivers/memory');
      const { fileDriver } = await import('bentocache/drivers/file');
      const bento = new BentoCache({
        default: 'shared',
        stores: {
          shared: bentostore()
            .useL1Layer(memoryDriver({}))
            .useL2Layer(fileDriver({ directory: join(task.dir, 'bento'), pruneInterval: false })),
        },
      });
      return {
        getOrCreate: () => bento.getOrSet({ key: 'key', factory: create, ttl: '1h' }),
        close: () => bento.disconnect(),
      };
    }
    case 'cache-manager 7 (keyv-file)': {
      const { createCache } = await import('cache-manager');
      const { Keyv } = await import('keyv');
      const { KeyvFile } = await import('keyv-file');
      const cache = createCache({
        stores: [new Keyv({ store: new KeyvFile({ filename: join(task.dir, 'keyv-file.json') }) })],
      });
      return {
        getOrCreate: () => cache.wrap('key', create, 3_600_000),
        close: async () => {
          await cache.disconnect();
        },
      };
    }
  }
}

const { getOrCreate, close } = await open();
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
const values = await Promise.all(Array.from({ length: task.callers }, () => getOrCreate()));
process.stdout.write(`${JSON.stringify(values)}\n`);
await close();
process.exit(0);
