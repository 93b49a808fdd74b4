/**
 * The shared back-end conformance suite. Every back-end, built in or yours, passes the same tests:
 * get/set/delete/has/keys, batch reads (`getMany`, or a `get` per key without it), expiry, clearing one namespace, awkward keys and bad input, every value type through a
 * cache, serve-stale, undecodable entries, dog-pile protection in one process and across OS processes, and writers
 * killed with SIGKILL. It declares its tests in the runner you pass (Vitest, Jest or node:test) and checks with
 * `node:assert`, so it depends on no test runner.
 *
 * @example
 * // my-backend.test.ts (Vitest; Jest is the same with its globals)
 * import { afterAll, afterEach, beforeEach, describe, it } from 'vitest';
 * import { describeBackendConformance } from 'beaker-ts/testing';
 * describeBackendConformance({
 *   runner: { describe, it, beforeEach, afterEach, afterAll },
 *   type: 'mine',
 *   factory: myBackend,
 *   options: () => ({ url: 'mine://localhost' }),
 * });
 * @module
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  getEntries,
  hasEntry,
  type AnyBackend,
  type BackendContext,
  type BackendFactory,
} from '../backends/contract.js';
import { BackendRegistry } from '../backends/registry.js';
import { CacheManager, type CacheEvent } from '../cache/index.js';
import { startWorker } from './processes.js';
import { isWhole, type WorkerTask } from './worker-protocol.js';

/** A body the runner calls: a test, a hook or a suite's declarations. */
type RunnerBody = () => Promise<void> | void;

/**
 * The functions of the test runner the suite declares itself in. Vitest's and Jest's fit as they are
 * (`{ describe, it, beforeEach, afterEach, afterAll }`); for `node:test` pass `afterAll: after` and
 * `it: (name, body, timeoutMs) => it(name, { timeout: timeoutMs }, body)`. The suite checks its results with
 * `node:assert`, whose errors fail a test in every runner, so it needs no `expect`.
 */
export interface ConformanceTestRunner {
  /** Declares a group of tests; `describe.skip`, when the runner has it, declares a skipped group. */
  describe: ((name: string, body: () => void) => unknown) & {
    skip?: (name: string, body: () => void) => unknown;
  };
  /** Declares one test; `timeoutMs`, when given, is its time limit. */
  it: (name: string, body: RunnerBody, timeoutMs?: number) => unknown;
  /** Runs `body` before each test of the current group. */
  beforeEach: (body: RunnerBody) => unknown;
  /** Runs `body` after each test of the current group. */
  afterEach: (body: RunnerBody) => unknown;
  /** Runs `body` once after all the tests of the current group. */
  afterAll: (body: RunnerBody) => unknown;
}

/** What the suite runs against. */
export interface BackendConformanceTarget {
  /** The test runner's functions (`{ describe, it, beforeEach, afterEach, afterAll }` from Vitest or Jest). */
  runner: ConformanceTestRunner;
  /** The `type` name, as configuration names it. */
  type: string;
  /** What the suite is called, when one type is tested on several stores (default: the type). */
  label?: string;
  /** The factory; omit it for built-in types. */
  factory?: BackendFactory;
  /** Back-end options; called once per suite (make a fresh directory or database there). */
  options: () => Record<string, unknown>;
  /** A module exporting `register(manager)`, so that child processes can use a back-end that is not built in. */
  registerModule?: string;
  /** Why the back-end cannot run here (its server is missing); the suite is then skipped, or failed under CI. */
  unavailable?: string;
  /**
   * Whether several processes share the store (false for `memory`): the cross-process tests run only then.
   * Checked against the back-end's `capabilities.sharedAcrossProcesses`.
   * @default true
   */
  sharedAcrossProcesses?: boolean;
  /** How many OS processes the cross-process tests start. */
  processes?: number;
  /** How many times the SIGKILL test kills a writer. */
  kills?: number;
  /**
   * The back-end's locks take over at once the lock of a holder on this host whose process is gone (a lease store
   * with `owner`, or `lock_dir` file locks), rather than when its lease ends: a test then checks it.
   * @default false
   */
  deadHolderTakeover?: boolean;
}

/** A clock that tests move by hand. */
class ManualClock {
  now = Date.parse('2030-01-01T00:00:00Z');
  readonly read = (): number => this.now;
  advance(seconds: number): void {
    this.now += seconds * 1000;
  }
}

const NAMESPACE_PAIRS = [
  ['a', 'ab'],
  ['a:b', 'a'],
  ['x\u0000y', 'x'],
];

const AWKWARD_KEYS = [
  'has space',
  'hasspace',
  '../../etc/passwd',
  'hiŏ',
  'hŏa',
  'Español',
  '日本語のキー',
  '',
  'nul\u0000byte',
  'new\nline',
  'к'.repeat(300),
  'k'.repeat(5000),
];

/** Every kind of value the default codec keeps, with what it must read back as. */
const VALUES: [string, unknown][] = [
  ['a string', 'howdy'],
  ['an empty string', ''],
  ['unicode', 'Español 日本語 🎉'],
  ['an integer', 42],
  ['a float', 3.25],
  ['a negative number', -7],
  ['true', true],
  ['false', false],
  ['null', null],
  ['an array', [1, 'two', [3], { four: 4 }]],
  ['a nested object', { a: { b: { c: [1, 2, { d: 'e' }] } } }],
  ['a Date', new Date('2031-02-03T04:05:06.789Z')],
  [
    'a Map',
    new Map<unknown, unknown>([
      ['k', 1],
      [2, { v: new Date(0) }],
    ]),
  ],
  ['a Set', new Set([1, 'a', 2n])],
  ['a BigInt', 12345678901234567890n],
  ['a Uint8Array', new Uint8Array([0, 1, 2, 254, 255])],
  ['Infinity and NaN', [Infinity, -Infinity, NaN]],
  ['an object with a $beaker key', { $beaker: 'Date', v: 'not a date' }],
  ['a large string', 'x'.repeat(1_000_000)],
];

/**
 * Checks what `delete` resolved to: the expected answer, or `undefined` from a store that cannot tell without
 * another read (the contract allows it).
 */
function assertDeleted(result: boolean | undefined, expected: boolean, message?: string): void {
  if (result !== undefined) assert.strictEqual(result, expected, message);
}

/**
 * Declares the conformance suite for one back-end.
 */
export function describeBackendConformance(target: BackendConformanceTarget): void {
  const { describe, it, beforeEach, afterEach } = target.runner;
  const name = `back-end conformance: ${target.label ?? target.type}`;
  if (target.unavailable !== undefined) {
    if (process.env.CI === 'true') {
      describe(name, () => {
        it('has its server', () => {
          throw new Error(
            `${target.type} cannot be tested: ${target.unavailable}. Under CI=true a skip is a failure.`,
          );
        });
      });
    } else {
      console.warn(`\n*** SKIPPED: ${name}: ${target.unavailable} ***\n`);
      describe.skip?.(name, () => undefined);
    }
    return;
  }

  describe(name, () => {
    const options = target.options();
    const clock = new ManualClock();
    const events: CacheEvent[] = [];
    const context: BackendContext = { clock: clock.read, report: (event) => events.push(event) };
    let backend: AnyBackend;
    const has = (namespace: string, key: string): Promise<boolean> => hasEntry(backend, namespace, key);
    let managers: CacheManager[] = [];

    const factory = (): BackendFactory => {
      if (target.factory) return target.factory;
      const descriptor = new BackendRegistry().descriptor(target.type);
      return (given, backendContext) => descriptor.create(given, backendContext);
    };
    const manager = (
      extra: Record<string, unknown> = {},
      managerClock: () => number = clock.read,
    ): CacheManager => {
      const created = new CacheManager({
        type: target.type,
        ...options,
        ...extra,
        clock: managerClock,
        onEvent: (event) => events.push(event),
        ...(target.factory ? { backends: { [target.type]: target.factory } } : {}),
      });
      managers.push(created);
      return created;
    };
    /**
     * Writes `short` (with the shortest TTL worth waiting for on this store), `long` (an hour) and `forever` in
     * `namespace`; resolves to the TTL of `short`.
     */
    const writeExpiring = async (namespace: string): Promise<number> => {
      const ttlMs = Math.max(50, backend.capabilities.ttlResolutionMs);
      await backend.set(namespace, 'short', 'v', { ttlMs });
      await backend.set(namespace, 'long', 'v', { ttlMs: 3_600_000 });
      await backend.set(namespace, 'forever', 'v');
      return ttlMs;
    };
    /** Lets `ttlMs` pass: a store in this process may count time by the injected clock; a server counts its own. */
    const outlive = async (ttlMs: number): Promise<void> => {
      clock.advance(ttlMs / 1000 + 0.001);
      if (backend.capabilities.nativeTtl) await sleep(ttlMs * 2 + 100);
    };
    let namespaceCounter = 0;
    const freshNamespace = (): string =>
      `conformance-${process.pid}-${Date.now()}-${(namespaceCounter += 1)}`;

    beforeEach(async () => {
      events.length = 0;
      backend = await factory()(options, context);
    });
    afterEach(async () => {
      await backend.close();
      await Promise.all(managers.map((created) => created.close()));
      managers = [];
    });

    describe('storage operations', () => {
      it('misses a key never written', async () => {
        assert.strictEqual(await backend.get(freshNamespace(), 'missing'), undefined);
        assert.strictEqual(await has(freshNamespace(), 'missing'), false);
      });

      it('round-trips, overwrites, reports and deletes an entry', async () => {
        const ns = freshNamespace();
        await backend.set(ns, 'k', 'first');
        assert.strictEqual(await backend.get(ns, 'k'), 'first');
        assert.strictEqual(await has(ns, 'k'), true);
        await backend.set(ns, 'k', 'second');
        assert.strictEqual(await backend.get(ns, 'k'), 'second');
        assertDeleted(await backend.delete(ns, 'k'), true);
        assert.strictEqual(await backend.get(ns, 'k'), undefined);
        assert.strictEqual(await has(ns, 'k'), false);
        assertDeleted(await backend.delete(ns, 'k'), false);
      });

      it("never lets a short key reach a long key's entry through its digest", async () => {
        const ns = freshNamespace();
        const long = `long-${'k'.repeat(3000)}`;
        await backend.set(ns, long, 'the long key');
        // Where stores keep long keys: under a digest, in the forms back-ends use.
        const hash = (encoding: 'hex' | 'base64url'): string =>
          createHash('sha256').update(long).digest(encoding);
        const lookalikes = [`#${hash('hex')}`, `#${hash('base64url')}`, hash('hex'), hash('base64url')];
        for (const lookalike of lookalikes) {
          assert.strictEqual(await backend.get(ns, lookalike), undefined, `${lookalike} read the long key`);
          await backend.set(ns, lookalike, 'planted');
        }
        assert.strictEqual(await backend.get(ns, long), 'the long key');
        for (const lookalike of lookalikes) assert.strictEqual(await backend.get(ns, lookalike), 'planted');
      });

      it('keeps text exactly: empty, multi-line, unicode, 1 MB', async () => {
        const ns = freshNamespace();
        for (const text of [
          '',
          'line 1\nline 2\r\n',
          '{"json":true}',
          'Español 日本語 🎉',
          'y'.repeat(1_000_000),
        ]) {
          await backend.set(ns, 'text', text);
          assert.strictEqual(await backend.get(ns, 'text'), text);
        }
      });

      for (const key of AWKWARD_KEYS) {
        it(`stores key ${JSON.stringify(key.slice(0, 40))} apart from the others`, async () => {
          const ns = freshNamespace();
          await backend.set(ns, key, `value of ${key}`);
          await backend.set(ns, `${key}-other`, 'other');
          assert.strictEqual(await backend.get(ns, key), `value of ${key}`);
          const keys = await backend.keys(ns);
          assert.ok(keys.includes(key) && keys.includes(`${key}-other`), 'keys() lists both keys');
          assertDeleted(await backend.delete(ns, key), true);
          assert.strictEqual(await backend.get(ns, key), undefined);
          assert.strictEqual(await backend.get(ns, `${key}-other`), 'other');
        });
      }

      it('lists the keys of one namespace only', async () => {
        const [ns, other] = [freshNamespace(), freshNamespace()];
        await Promise.all(['a', 'b', 'c'].map((key) => backend.set(ns, key, key)));
        await backend.set(other, 'z', 'z');
        assert.deepStrictEqual((await backend.keys(ns)).sort(), ['a', 'b', 'c']);
        assert.deepStrictEqual(await backend.keys(freshNamespace()), []);
      });

      for (const [first, second] of NAMESPACE_PAIRS) {
        it(`clears namespace ${JSON.stringify(first)} and leaves ${JSON.stringify(second)} alone`, async () => {
          const [ns, other] = [`${freshNamespace()}${first}`, `${freshNamespace()}${second}`];
          await backend.set(ns, 'k1', '1');
          await backend.set(ns, 'k2', '2');
          await backend.set(other, 'k1', 'kept');
          await backend.clear(ns);
          assert.strictEqual(await backend.get(ns, 'k1'), undefined);
          assert.deepStrictEqual(await backend.keys(ns), []);
          assert.strictEqual(await backend.get(other, 'k1'), 'kept');
          await backend.clear(ns);
          await backend.set(ns, 'k3', 'after clear');
          assert.strictEqual(await backend.get(ns, 'k3'), 'after clear');
        });
      }

      it('drops an entry after its TTL (without native TTL: by prune())', async () => {
        const ns = freshNamespace();
        const ttlMs = await writeExpiring(ns);
        assert.strictEqual(await backend.get(ns, 'short'), 'v');
        await outlive(ttlMs);
        if (!backend.capabilities.nativeTtl) {
          // The contract lets such a store return the entry until prune(): the cache checks its expiry itself.
          assert.ok(backend.prune !== undefined, 'a back-end without native TTL has prune()');
          await backend.prune();
        }
        assert.strictEqual(await backend.get(ns, 'short'), undefined);
        assert.strictEqual(await has(ns, 'short'), false);
        assert.deepStrictEqual((await backend.keys(ns)).sort(), ['forever', 'long']);
        assert.strictEqual(await backend.get(ns, 'long'), 'v');
      });

      it('answers peek() as get() resolves, when it has a synchronous read', async () => {
        if (!backend.peek) return;
        const ns = freshNamespace();
        await backend.set(ns, 'present', 'v');
        await backend.set(ns, 'short', 'v', { ttlMs: Math.max(50, backend.capabilities.ttlResolutionMs) });
        assert.strictEqual(backend.peek(ns, 'present'), await backend.get(ns, 'present'));
        assert.strictEqual(backend.peek(ns, 'absent'), undefined);
        clock.advance(3600);
        assert.strictEqual(backend.peek(ns, 'short'), undefined);
        assert.strictEqual(await backend.get(ns, 'short'), undefined);
      });

      it('prunes expired entries when it can', async () => {
        if (!backend.prune) return;
        const ns = freshNamespace();
        await backend.set(ns, 'old', 'v', { ttlMs: 1000 });
        await backend.set(ns, 'new', 'v');
        clock.advance(2);
        assert.ok((await backend.prune()) >= 1, 'prune() counts the expired entry');
        assert.deepStrictEqual(await backend.keys(ns), ['new']);
      });

      describe('batch reads (getMany, or a get per key without it)', () => {
        /** What `getEntries` answers for `keys`, checked against one `get` per key. */
        const readsAsGets = async (namespace: string, keys: readonly string[]): Promise<unknown[]> => {
          const batch = await getEntries(backend, namespace, keys);
          const one = await Promise.all(keys.map((key) => backend.get(namespace, key)));
          assert.deepStrictEqual(batch, one, 'getEntries answers what get answers, position by position');
          return batch;
        };

        it('answers present, missing and repeated keys in the order asked, from its own namespace only', async () => {
          const [ns, other] = [freshNamespace(), freshNamespace()];
          await backend.set(ns, 'a', 'value a');
          await backend.set(ns, 'b', 'value b');
          await backend.set(other, 'a', 'other a');
          await backend.set(other, 'only-other', 'other');
          const keys = ['b', 'missing', 'a', 'only-other', 'a', 'b', 'missing'];
          assert.deepStrictEqual(await readsAsGets(ns, keys), [
            'value b',
            undefined,
            'value a',
            undefined,
            'value a',
            'value b',
            undefined,
          ]);
          assert.deepStrictEqual(await readsAsGets(ns, ['never-written']), [undefined]);
        });

        it('maps awkward keys and namespaces as get does', async () => {
          const ns = `${freshNamespace()} ../日本 ns\u0000`;
          // With the keys of the other tests, keys holding Redis Cluster hash tags (one slot, or none).
          const awkward = [...AWKWARD_KEYS, '{tag}a', '{tag}b', 'x{}y', '{a}{b}', '}{', '#hash'];
          await Promise.all(awkward.map((key) => backend.set(ns, key, `value of ${key}`)));
          const keys = [...awkward, ...awkward.map((key) => `${key}-missing`), ...awkward];
          const values = await readsAsGets(ns, keys);
          assert.deepStrictEqual(values, [
            ...awkward.map((key) => `value of ${key}`),
            ...awkward.map(() => undefined),
            ...awkward.map((key) => `value of ${key}`),
          ]);
        });

        it('answers an empty list with an empty list', async () => {
          const ns = freshNamespace();
          assert.deepStrictEqual(await getEntries(backend, ns, []), []);
          if (backend.getMany) assert.deepStrictEqual(await backend.getMany(ns, []), []);
        });

        it('misses an entry past its TTL where get misses it', async () => {
          const ns = freshNamespace();
          const ttlMs = await writeExpiring(ns);
          assert.deepStrictEqual(await readsAsGets(ns, ['short', 'long', 'forever']), ['v', 'v', 'v']);
          // No prune(): what get answers for an expired entry not yet removed, getMany answers too.
          await outlive(ttlMs);
          const values = await readsAsGets(ns, ['short', 'long', 'forever', 'short']);
          assert.deepStrictEqual(values.slice(1, 3), ['v', 'v']);
          if (backend.capabilities.nativeTtl)
            assert.deepStrictEqual([values[0], values[3]], [undefined, undefined]);
        });

        it('reads 600 keys, half of them present, in one call', async () => {
          const ns = freshNamespace();
          const keys = Array.from({ length: 600 }, (_unused, index) => `many-${index}`);
          const present = keys.filter((_key, index) => index % 2 === 0);
          // Written a few at a time: a store on this host should not open hundreds of files at once for the test.
          for (let start = 0; start < present.length; start += 50) {
            await Promise.all(
              present.slice(start, start + 50).map((key) => backend.set(ns, key, `value of ${key}`)),
            );
          }
          const values = await readsAsGets(ns, keys);
          assert.deepStrictEqual(
            values,
            keys.map((key, index) => (index % 2 === 0 ? `value of ${key}` : undefined)),
          );
        }, 60_000);
      });

      it('ends concurrent writes of one key with one whole value', async () => {
        const ns = freshNamespace();
        const values = Array.from({ length: 40 }, (_unused, index) =>
          `value-${index}-`.padEnd(5000, String(index % 10)),
        );
        await Promise.all(values.map((value) => backend.set(ns, 'contended', value)));
        const stored = await backend.get(ns, 'contended');
        assert.ok(
          typeof stored === 'string' && values.includes(stored),
          `${JSON.stringify(stored)} is one of the values written`,
        );
      });
    });

    describe('through a cache', () => {
      for (const [label, value] of VALUES) {
        it(`round-trips ${label}`, async () => {
          const cache = manager().getCache(freshNamespace());
          await cache.put('v', value);
          assert.deepStrictEqual(await cache.get('v'), value);
          if (target.sharedAcrossProcesses ?? true) {
            // Another manager (as another process would) reads it from the store.
            assert.deepStrictEqual(await manager().getCache(cache.namespace).get('v'), value);
          }
        });
      }

      it('gives a copy: changing a value read does not change the cache', async () => {
        const cache = manager().getCache<{ list: number[] }>(freshNamespace());
        await cache.put('v', { list: [1] });
        const read = await cache.get('v');
        read?.list.push(2);
        assert.deepStrictEqual(await cache.get('v'), { list: [1] });
      });

      it('tells a stored null from a missing key', async () => {
        const cache = manager().getCache(freshNamespace());
        await cache.put('none', null);
        assert.strictEqual(await cache.has('none'), true);
        assert.strictEqual(await cache.get('none', { createfunc: () => 'created' }), null);
        assert.strictEqual(await cache.has('missing'), false);
      });

      it('expires values by their own expiretime', async () => {
        const cache = manager().getCache(freshNamespace());
        await cache.put('k', 10);
        clock.advance(100_000);
        assert.strictEqual(await cache.get('k'), 10);
        await cache.put('k', 20, { expiretime: 1 });
        assert.strictEqual(await cache.get('k'), 20);
        clock.advance(1);
        assert.strictEqual(await cache.has('k'), false);
        assert.strictEqual(await cache.get('k'), undefined);
      });

      it('creates a value once per expiry', async () => {
        const cache = manager().getCache(freshNamespace());
        const get = (value: number): Promise<unknown> =>
          cache.get('test', { createfunc: () => value, expiretime: 2 });
        assert.deepStrictEqual([await get(10), await get(12), await get(14)], [10, 10, 10]);
        clock.advance(2);
        assert.deepStrictEqual([await get(16), await get(18)], [16, 16]);
        await cache.remove('test');
        assert.strictEqual(await cache.has('test'), false);
        assert.strictEqual(await get(20), 20);
      });

      it('counts entries stored before starttime as expired', async () => {
        const ns = freshNamespace();
        await manager().getCache(ns).put('k', 'old');
        const later = manager({ starttime: clock.now / 1000 + 1 }).getCache(ns);
        assert.strictEqual(await later.get('k'), undefined);
        clock.advance(2);
        await later.put('k', 'new');
        assert.strictEqual(await later.get('k'), 'new');
      });

      it('serves the stale value while one caller creates the new one', async () => {
        const cache = manager().getCache<string>(freshNamespace(), { expire: 10 });
        await cache.put('k', 'stale');
        clock.advance(11);
        let finishCreation: (value: string) => void = () => undefined;
        let started: () => void = () => undefined;
        const inCreation = new Promise<void>((resolve) => (started = resolve));
        const creating = cache.get('k', {
          createfunc: () =>
            new Promise<string>((resolve) => {
              finishCreation = resolve;
              started();
            }),
        });
        // The creator holds the lock once its createfunc runs (on a slow store that takes more than a tick).
        await inCreation;
        const others = await Promise.all(
          Array.from({ length: 5 }, () => cache.get('k', { createfunc: () => 'second' })),
        );
        assert.deepStrictEqual(others, Array(5).fill('stale'));
        finishCreation('fresh');
        assert.strictEqual(await creating, 'fresh');
        assert.strictEqual(await cache.get('k'), 'fresh');
      });

      it('clears one namespace and leaves the others', async () => {
        const created = manager();
        const [cache, other] = [created.getCache(freshNamespace()), created.getCache(freshNamespace())];
        await cache.put('k', 1);
        await other.put('k', 2);
        await cache.clear();
        assert.strictEqual(await cache.get('k'), undefined);
        assert.strictEqual(await other.get('k'), 2);
      });

      it('lists the keys with fresh values', async () => {
        const cache = manager().getCache(freshNamespace());
        await cache.put('fresh', 1);
        await cache.put('stale', 2, { expiretime: 1 });
        clock.advance(1);
        assert.deepStrictEqual(await cache.keys(), ['fresh']);
      });

      it('treats an entry it cannot decode as a miss and reports it', async () => {
        // A manager whose back-end instance the test can write to directly.
        let captured: AnyBackend | undefined;
        const baseFactory = factory();
        const capturing = new CacheManager({
          ...options,
          type: 'captured',
          clock: clock.read,
          onEvent: (event) => events.push(event),
          backends: { captured: async (opts, ctx) => (captured = await baseFactory(opts, ctx)) },
        });
        managers.push(capturing);
        const cache = capturing.getCache(freshNamespace());
        await cache.put('other', 'written');
        if (!captured || captured.format === 'object') return;
        await captured.set(cache.namespace, 'k', 'this is not an entry');
        assert.strictEqual(await cache.get('k'), undefined);
        assert.ok(
          events.some((event) => event.type === 'decode-error'),
          'a decode-error event is reported',
        );
        await captured.set(cache.namespace, 'k', '{"f":1,"t":0,"e":null}');
        assert.strictEqual(await cache.get('k'), undefined);
        assert.strictEqual(await cache.get('k', { createfunc: () => 'recreated' }), 'recreated');
        assert.strictEqual(await cache.get('k'), 'recreated');
      });

      it('gives a creator’s error to that caller only; the next caller tries again', async () => {
        const cache = manager().getCache(freshNamespace());
        let calls = 0;
        const createfunc = async (): Promise<string> => {
          calls += 1;
          await sleep(20);
          if (calls === 1) throw new Error('creation failed');
          return 'second try';
        };
        // Either caller may reach the lock first (a pooled client can answer their reads in any order).
        const results = await Promise.allSettled([
          cache.get('k', { createfunc }),
          cache.get('k', { createfunc }),
        ]);
        const failed = results.filter((result) => result.status === 'rejected');
        assert.deepStrictEqual(
          failed.map((result): unknown =>
            result.reason instanceof Error ? result.reason.message : result.reason,
          ),
          ['creation failed'],
        );
        assert.deepStrictEqual(
          results.filter((result) => result.status === 'fulfilled'),
          [{ status: 'fulfilled', value: 'second try' }],
        );
        assert.strictEqual(calls, 2);
      });

      it('creates a cold key once for 50 concurrent callers in one process', async () => {
        const cache = manager().getCache(freshNamespace());
        let calls = 0;
        const values = await Promise.all(
          Array.from({ length: 50 }, () =>
            cache.get('cold', {
              createfunc: async () => {
                calls += 1;
                await sleep(50);
                return 'made once';
              },
            }),
          ),
        );
        assert.strictEqual(calls, 1);
        assert.deepStrictEqual(new Set(values), new Set(['made once']));
      });

      it('does nothing when disabled: every call runs the createfunc', async () => {
        const cache = manager({ enabled: false }).getCache(freshNamespace());
        await cache.put('k', 1);
        assert.strictEqual(await cache.get('k'), undefined);
        let calls = 0;
        await cache.get('k', { createfunc: () => (calls += 1) });
        await cache.get('k', { createfunc: () => (calls += 1) });
        assert.strictEqual(calls, 2);
      });
    });

    it('declares the capabilities it was tested for', () => {
      assert.strictEqual(backend.capabilities.sharedAcrossProcesses, target.sharedAcrossProcesses ?? true);
      assert.ok(backend.capabilities.ttlResolutionMs > 0, 'ttlResolutionMs is positive');
    });

    if (target.sharedAcrossProcesses ?? true)
      describeAcrossProcesses(target, options, freshNamespace, manager);
  });
}

function describeAcrossProcesses(
  target: BackendConformanceTarget,
  options: Record<string, unknown>,
  freshNamespace: () => string,
  manager: (extra?: Record<string, unknown>, clock?: () => number) => CacheManager,
): void {
  const { describe, it, afterAll } = target.runner;
  const processes = target.processes ?? 4;
  const callers = 50;
  const createMs = 300;
  const scratch = mkdtempSync(join(tmpdir(), 'beaker-conformance-'));
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  const task = (mode: WorkerTask['mode'], namespace: string, countFile: string): WorkerTask => ({
    mode,
    type: target.type,
    options,
    ...(target.registerModule === undefined ? {} : { registerModule: target.registerModule }),
    namespace,
    key: 'shared-key',
    callers,
    createMs,
    countFile,
    keys: 20,
  });

  /** Starts the workers, releases them together and returns the values and the number of creations. */
  async function stampede(namespace: string): Promise<{ values: string[]; creations: number }> {
    const countFile = join(scratch, `${namespace}.count`);
    writeFileSync(countFile, '');
    const workers = Array.from({ length: processes }, () =>
      startWorker(task('stampede', namespace, countFile)),
    );
    await Promise.all(workers.map((worker) => worker.waitFor('ready')));
    for (const worker of workers) worker.child.stdin.write('go\n');
    const outputs = await Promise.all(workers.map((worker) => worker.finished));
    const values = outputs.flatMap((output) => JSON.parse(output.split('\n').at(-2) ?? '[]') as string[]);
    const creations = readFileSync(countFile, 'utf8').split('\n').filter(Boolean).length;
    return { values, creations };
  }

  describe('across OS processes', () => {
    it(`creates a cold key exactly once for ${processes} processes × ${callers} callers`, async () => {
      const { values, creations } = await stampede(freshNamespace());
      assert.strictEqual(creations, 1);
      assert.strictEqual(values.length, processes * callers);
      assert.strictEqual(new Set(values).size, 1);
    }, 60_000);

    it('with a stale value present, only the creator waits: every other caller gets the stale value', async () => {
      const namespace = freshNamespace();
      // Stored a minute ago with a 10 s expiry: stale, but within its grace period, for the workers' real clock.
      const past = manager({}, () => Date.now() - 60_000);
      await past.getCache(namespace, { expire: 10, grace: 3600 }).put('shared-key', 'stale value');
      const { values, creations } = await stampede(namespace);
      assert.strictEqual(creations, 1);
      assert.strictEqual(values.filter((value) => value === 'stale value').length, processes * callers - 1);
    }, 60_000);

    it('takes over the creation lock of a holder killed with SIGKILL mid-creation, within the lease', async () => {
      const namespace = freshNamespace();
      // A short lease, and a lock wait far longer than the test: only a takeover can end it in time.
      const leased = { ...options, lock_lease: 5, lock_timeout: 120 };
      const holder = startWorker({ ...task('holder', namespace, join(scratch, 'unused')), options: leased });
      await holder.waitFor('creating');
      holder.child.kill('SIGKILL');
      const cache = manager(leased, Date.now).getCache<string>(namespace);
      assert.strictEqual(
        await cache.get('shared-key', { createfunc: () => 'created after the takeover' }),
        'created after the takeover',
      );
    }, 30_000);

    if (target.deadHolderTakeover === true) {
      it('takes over at once the lock of a holder on this host killed with SIGKILL, long before its lease', async () => {
        const namespace = freshNamespace();
        // A lease of ten minutes: only a takeover of the dead holder's lock ends the wait within the test's time.
        const leased = { ...options, lock_lease: 600, lock_timeout: 600 };
        const holder = startWorker({
          ...task('holder', namespace, join(scratch, 'unused')),
          options: leased,
        });
        await holder.waitFor('creating');
        holder.child.kill('SIGKILL');
        await once(holder.child, 'exit');
        const cache = manager(leased, Date.now).getCache<string>(namespace);
        assert.strictEqual(
          await cache.get('shared-key', { createfunc: () => 'created after the takeover' }),
          'created after the takeover',
        );
      }, 20_000);
    }

    it('never leaves a torn entry when a writer is killed with SIGKILL mid-write', async () => {
      const namespace = freshNamespace();
      const reader = manager({}, Date.now).getCache(namespace);
      for (let kill = 0; kill < (target.kills ?? 12); kill += 1) {
        const writer = startWorker(task('writer', namespace, join(scratch, 'unused')));
        await writer.waitFor('ready');
        await sleep(5 + Math.random() * 60);
        writer.child.kill('SIGKILL');
        await writer.finished.catch(() => undefined);
        const values = await Promise.all(
          Array.from({ length: 20 }, (_unused, index) => reader.get(`shared-key-${index}`)),
        );
        assert.strictEqual(values.every(isWhole), true);
      }
    }, 120_000);
  });
}
