/**
 * examples/custom-backend/: the third-party `nats-kv` back-end, tested as its author would test it: through the
 * package's public subpaths (`beaker-ts`, `beaker-ts/backends/kit`, `beaker-ts/testing`, which resolve to dist/, so
 * `npm run build` first, as `npm test` does) and the published conformance suite, whose cross-process tests start
 * several OS processes that register the back-end through examples/custom-backend/register.ts.
 *
 * NATS (with JetStream) must answer at BEAKER_TEST_NATS_URL (default nats://127.0.0.1:4222; scripts/services.sh
 * starts it). Each run uses a bucket of its own and deletes it at the end.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AnyBackend, BackendContext } from 'beaker-ts/backends/kit';
import { describeWhenAvailable, unreachable } from '../helpers/services.js';

const NATS_URL = process.env.BEAKER_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const BUCKET = `beaker-test-${process.pid}-${Date.now()}`;
const OPTIONS = { url: NATS_URL, bucket: BUCKET };
const REGISTER_MODULE = fileURLToPath(new URL('../../examples/custom-backend/register.ts', import.meta.url));
const LEASE_HOLDER = fileURLToPath(new URL('./nats-lease-holder.ts', import.meta.url));
const built = existsSync(new URL('../../dist/index.js', import.meta.url));

async function natsUnavailable(): Promise<string | undefined> {
  const { hostname, port } = new URL(NATS_URL);
  return unreachable(hostname, Number(port || 4222), 'NATS');
}

const unavailable = built ? await natsUnavailable() : 'dist/ is not built: run `npm run build`';

// The suite's worker processes run the built worker with plain `node`, and import the example's register.ts: like
// any author of a back-end in TypeScript, this test gives them a TypeScript loader.
process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, '--import tsx'].filter(Boolean).join(' ');

const testing = built ? await import('beaker-ts/testing') : undefined;
const beaker = built ? await import('beaker-ts') : undefined;
const example = built ? await import('../../examples/custom-backend/descriptor.js') : undefined;
const store = built ? await import('../../examples/custom-backend/store.js') : undefined;

if (testing && example) {
  testing.describeBackendConformance({
    runner: { describe, it, beforeEach, afterEach, afterAll },
    type: 'nats-kv',
    factory: (options, context) => example.natsKvBackend.create(options, context),
    options: () => ({ ...OPTIONS }),
    registerModule: REGISTER_MODULE,
    // A NATS message is stored whole or not at all, and each writer process takes about a second to start here
    // (TypeScript compiled on the fly): 6 kills instead of 12 keep the file within its time budget.
    kills: 6,
    ...(unavailable === undefined ? {} : { unavailable }),
  });
}

// The run's bucket goes at the end, whichever tests ran: the shared server keeps nothing of it.
afterAll(async () => {
  if (unavailable !== undefined) return;
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const connection = await connect({ servers: NATS_URL });
  try {
    await (await jetstreamManager(connection)).streams.delete(`KV_${BUCKET}`).catch(() => undefined);
  } finally {
    await connection.close();
  }
});

/** Runs `body` on the run's bucket (created by opening a back-end first) over a connection of its own. */
async function withBucket(
  body: (
    kv: import('@nats-io/kv').KV,
    leaseStore: typeof import('../../examples/custom-backend/lease-store.js').NatsKvLeaseStore,
  ) => Promise<void>,
): Promise<void> {
  const { NatsKvLeaseStore } = await import('../../examples/custom-backend/lease-store.js');
  const { connect } = await import('@nats-io/transport-node');
  const { Kvm } = await import('@nats-io/kv');
  const connection = await connect({ servers: NATS_URL });
  try {
    await body(await new Kvm(connection).open(BUCKET), NatsKvLeaseStore);
  } finally {
    await connection.close();
  }
}

/** What the tests' back-ends report, and their clock. */
function testContext(): BackendContext {
  return { clock: Date.now, report: () => undefined };
}

describeWhenAvailable('examples/custom-backend: nats-kv', unavailable, () => {
  if (!beaker || !example) return;
  const { natsKvBackend } = example;
  let backends: AnyBackend[] = [];
  const open = async (options: Record<string, unknown> = OPTIONS): Promise<AnyBackend> => {
    const backend = await natsKvBackend.create(options, testContext());
    backends.push(backend);
    return backend;
  };
  let namespaceCounter = 0;
  const freshNamespace = (): string => `example-${process.pid}-${(namespaceCounter += 1)}`;

  afterEach(async () => {
    await Promise.all(backends.map((backend) => backend.close()));
    backends = [];
  });

  it('keeps keys apart that a naive mapping to NATS keys would merge', async () => {
    const backend = await open();
    const ns = freshNamespace();
    const keys = [
      'a.b',
      'a_b',
      'a/b',
      '>',
      '*',
      'a.>',
      '.',
      '',
      ' ',
      '\uD800',
      '\uFFFD',
      '\uDC00\uD800',
      'b',
      'bYg',
      'h'.repeat(400),
      'h'.repeat(401),
    ];
    for (const key of keys) await backend.set(ns, key, `value of ${JSON.stringify(key)}`);
    for (const key of keys) expect(await backend.get(ns, key)).toBe(`value of ${JSON.stringify(key)}`);
    expect((await backend.keys(ns)).sort()).toEqual([...keys].sort());
  });

  it('keeps a namespace with dots apart from the namespace and key it seems to be made of', async () => {
    const backend = await open();
    const ns = freshNamespace();
    await backend.set(`${ns}.a`, 'b', 'namespace with a dot');
    await backend.set(ns, 'a.b', 'key with a dot');
    expect(await backend.get(`${ns}.a`, 'b')).toBe('namespace with a dot');
    expect(await backend.get(ns, 'a.b')).toBe('key with a dot');
    expect(await backend.keys(ns)).toEqual(['a.b']);
  });

  it("clears one namespace and leaves the others, whichever is cleared first, through another process's view", async () => {
    const [writer, reader] = [await open(), await open()];
    const [first, second, prefixed] = [freshNamespace(), freshNamespace(), `${freshNamespace()}x`];
    for (const ns of [first, second, prefixed]) {
      await writer.set(ns, 'k1', `${ns} 1`);
      await writer.set(ns, 'k2', `${ns} 2`);
    }
    await reader.clear(second);
    expect(await writer.keys(second)).toEqual([]);
    expect((await writer.keys(first)).sort()).toEqual(['k1', 'k2']);
    await reader.clear(first);
    expect(await writer.get(first, 'k1')).toBeUndefined();
    expect((await writer.keys(prefixed)).sort()).toEqual(['k1', 'k2']);
    expect(await reader.get(prefixed, 'k2')).toBe(`${prefixed} 2`);
  });

  it('takes over the lock of a holder killed with SIGKILL once its lease ran out, not before', async () => {
    const leased = { ...OPTIONS, lock_lease: 5 };
    const lockName = `lock-${freshNamespace()}`;
    const holder = spawn(process.execPath, [LEASE_HOLDER, JSON.stringify(leased), lockName], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    holder.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('held')) resolve();
      });
      holder.once('exit', (code) => {
        reject(new Error(`the holder exited with ${String(code)}: ${stderr}`));
      });
    });
    const backend = await open(leased);
    expect(await backend.locks?.acquire(lockName, 0)).toBeUndefined();
    const killedAt = Date.now();
    holder.kill('SIGKILL');
    const lock = await backend.locks?.acquire(lockName, 20_000);
    const waitedMs = Date.now() - killedAt;
    expect(lock).toBeDefined();
    // The lease was renewed until the kill (every lease/3), so it ran out between lease*2/3 and lease after it.
    expect(waitedMs).toBeGreaterThanOrEqual(5000 * (2 / 3) - 100);
    expect(waitedMs).toBeLessThan(5000 + 2000);
    await lock?.release();
  }, 30_000);

  it("wakes a waiter through the bucket's watch when another process releases the lock", async () => {
    await withBucket(async (kv, NatsKvLeaseStore) => {
      const [holder, waiter] = [new NatsKvLeaseStore(kv), new NatsKvLeaseStore(kv)];
      const key = `l.wake-${freshNamespace()}`;
      let woken = false;
      const waited = waiter.waitForRelease(key, 30_000).then(() => (woken = true));
      // The watch opens in the background: take and release until the waiter hears a release (or 10 s pass).
      const deadline = Date.now() + 10_000;
      while (!woken && Date.now() < deadline) {
        expect(await holder.take(key, 'holder', 60_000)).toBe(true);
        expect(await holder.release(key, 'holder')).toBe(true);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(woken).toBe(true);
      await waited;
      await waiter.close();
    });
  });

  it('lets one of eight concurrent takers win, and only the holder renew or release, after a lost answer too', async () => {
    await withBucket(async (kv, NatsKvLeaseStore) => {
      const leases = new NatsKvLeaseStore(kv);
      const key = `l.race-${freshNamespace()}`;
      const taken = await Promise.all(
        Array.from({ length: 8 }, (_unused, index) => leases.take(key, `taker-${index}`, 60_000)),
      );
      expect(taken.filter(Boolean)).toHaveLength(1);
      const winner = `taker-${taken.indexOf(true)}`;
      const loser = winner === 'taker-0' ? 'taker-1' : 'taker-0';
      expect(await leases.renew(key, loser, 60_000)).toBe(false);
      expect(await leases.release(key, loser)).toBe(false);
      expect(await leases.renew(key, winner, 60_000)).toBe(true);
      expect(await leases.release(key, winner)).toBe(true);
      expect(await leases.take(key, loser, 60_000)).toBe(true);
      // A renewal the server made but whose answer was lost: the key moved on, still holding the holder's token.
      await kv.put(key, JSON.stringify({ token: loser, expiresAt: Date.now() + 60_000 }));
      expect(await leases.renew(key, loser, 60_000)).toBe(true);
      expect(await leases.release(key, loser)).toBe(true);
      expect((await kv.get(key))?.operation).toBe('DEL');
      await leases.close();
    });
  });

  it('reads its options from an INI-style configuration, for caches and sessions', async () => {
    const caches = new beaker.CacheManager({
      ...beaker.parseCacheConfigOptions(
        {
          'cache.type': 'nats-kv',
          'cache.url': NATS_URL,
          'cache.bucket': BUCKET,
          'cache.lock_lease': '10',
        },
        { knownOptions: ['bucket'] },
      ),
      backends: { 'nats-kv': natsKvBackend },
    });
    const sessions = new beaker.SessionManager({
      ...beaker.parseSessionConfigOptions(
        {
          'beaker.session.type': 'nats-kv',
          'beaker.session.url': NATS_URL,
          'beaker.session.bucket': BUCKET,
          'beaker.session.secret': 'a secret of at least thirty-two bytes',
        },
        { knownOptions: ['bucket'] },
      ),
      backends: { 'nats-kv': natsKvBackend },
    });
    try {
      const cache = caches.getCache<string>(freshNamespace());
      expect(await cache.get('k', { createfunc: () => 'created' })).toBe('created');
      expect(await cache.get('k', { createfunc: () => 'again' })).toBe('created');
      const session = sessions.session(undefined);
      await session.set('user', 'ada');
      await session.save();
      expect(await (await sessions.getById(session.id))?.get('user')).toBe('ada');
    } finally {
      await Promise.all([caches.close(), sessions.close()]);
    }
  });
});

describeWhenAvailable(
  'examples/custom-backend: nats-kv without a server',
  built ? undefined : 'dist/ is not built: run `npm run build`',
  () => {
    if (!beaker || !example || !store) return;
    const { natsKvBackend, NATS_CLIENTS } = example;

    it("type-checks the example against the sources dist/ is built from (tsconfig.json's paths)", () => {
      const read = (file: string): unknown =>
        JSON.parse(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'));
      const { exports } = read('package.json') as { exports: Record<string, { default?: string }> };
      const { compilerOptions } = read('tsconfig.json') as {
        compilerOptions: { paths: Record<string, string[]> };
      };
      for (const [specifier, [source]] of Object.entries(compilerOptions.paths)) {
        const subpath = specifier === 'beaker-ts' ? '.' : `./${specifier.slice('beaker-ts/'.length)}`;
        const built = exports[subpath]?.default;
        expect(built && source, specifier).toBe(
          built?.replace(/^\.\/dist\//, './src/').replace(/\.js$/, '.ts'),
        );
      }
    });

    it('refuses a bucket name NATS would refuse, before it connects', async () => {
      const caches = new beaker.CacheManager({
        ...beaker.parseCacheConfigOptions(
          { 'cache.type': 'nats-kv', 'cache.url': 'nats://127.0.0.1:1', 'cache.bucket': 'no.dots' },
          { knownOptions: ['bucket'] },
        ),
        backends: { 'nats-kv': natsKvBackend },
      });
      try {
        const reading = caches.getCache('ns').get('k');
        await expect(reading).rejects.toBeInstanceOf(beaker.ConfigError);
        await expect(reading).rejects.toThrow(/bucket may hold only letters, digits, - and _/);
      } finally {
        await caches.close();
      }
    });

    it('fails to open with a BackendError naming the server when nothing answers there', async () => {
      const opening = natsKvBackend.create({ url: 'nats://127.0.0.1:1' }, testContext());
      await expect(opening).rejects.toThrow(beaker.BackendError);
      await expect(opening).rejects.toThrow(/nats-kv.*connecting to nats:\/\/127\.0\.0\.1:1/);
    });

    it('says which package to install when a NATS library is missing', async () => {
      const missing = (name: string) => () =>
        Promise.reject(new Error(`Cannot find package '${name}' imported from descriptor.js`));
      const clients = { ...NATS_CLIENTS, kv: { ...NATS_CLIENTS.kv, load: missing('@nats-io/kv') } };
      const opening = store.openNatsKvBackend(OPTIONS, testContext(), clients);
      await expect(opening).rejects.toBeInstanceOf(beaker.MissingDependencyError);
      await expect(opening).rejects.toThrow(
        'The nats-kv back-end needs the package "@nats-io/kv": install it with `npm install @nats-io/kv`',
      );
    });
  },
);
