import { describe, expect, it, vi } from 'vitest';
import { MEMORY_SWEEP_INTERVAL_MS, MemoryBackend } from '../../src/backends/memory/index.js';
import { describeBackendConformance } from '../../src/testing/index.js';
import { vitestRunner } from '../helpers/vitest-runner.js';

describeBackendConformance({
  runner: vitestRunner,
  type: 'memory',
  options: () => ({}),
  sharedAcrossProcesses: false,
});
describeBackendConformance({
  runner: vitestRunner,
  type: 'memory',
  options: () => ({ max_items: 100_000 }),
  sharedAcrossProcesses: false,
});

// Entries nobody reads again (every cookieless visitor's session) were kept for the life of the process.
it('drops expired entries by itself, without being read or pruned', async () => {
  vi.useFakeTimers();
  let now = Date.parse('2030-01-01T00:00:00Z');
  const backend = new MemoryBackend({}, { clock: () => now });
  for (let index = 0; index < 3; index += 1)
    await backend.set('sessions', `visitor-${index}`, 'x', { ttlMs: 1000 });
  await backend.set('sessions', 'kept', 'x');
  now += 2000;
  try {
    vi.advanceTimersByTime(MEMORY_SWEEP_INTERVAL_MS);
  } finally {
    vi.useRealTimers();
  }
  // The sweep removed the three: nothing is left for prune() to find.
  expect(await backend.prune()).toBe(0);
  expect(await backend.keys('sessions')).toEqual(['kept']);
  await backend.close();
});

describe('one map per namespace, one LRU order over all of them', () => {
  const context = { clock: Date.now };

  it('evicts the least recently used entry of any namespace, and lists what is left', async () => {
    const backend = new MemoryBackend({ max_items: 3 }, context);
    await backend.set('a', 'one', '1');
    await backend.set('b', 'two', '2');
    await backend.set('a', 'three', '3');
    await backend.get('a', 'one'); // now the most recently used
    await backend.set('c', 'four', '4'); // evicts b/two
    expect(await backend.keys('b')).toEqual([]);
    expect((await backend.keys('a')).sort()).toEqual(['one', 'three']);
    expect(await backend.get('c', 'four')).toBe('4');
    await backend.close();
  });

  it('getMany counts each key read as a use for the LRU order, in the order of the keys, as gets would', async () => {
    const backend = new MemoryBackend({ max_items: 3 }, context);
    await backend.set('a', 'one', '1');
    await backend.set('a', 'two', '2');
    await backend.set('b', 'three', '3');
    // one, then two, are now the most recently used: three is the least.
    expect(await backend.getMany('a', ['one', 'missing', 'two'])).toEqual(['1', undefined, '2']);
    await backend.set('c', 'four', '4'); // evicts b/three
    expect(await backend.keys('b')).toEqual([]);
    await backend.set('c', 'five', '5'); // evicts a/one, read before a/two
    expect(await backend.getMany('a', ['one', 'two'])).toEqual([undefined, '2']);
    await backend.close();
  });

  it('a replaced entry leaves the LRU order once, and its replacement stays', async () => {
    const backend = new MemoryBackend({ max_items: 2 }, context);
    await backend.set('a', 'k', 'old');
    await backend.set('a', 'k', 'new');
    await backend.set('a', 'other', 'x');
    expect(await backend.get('a', 'k')).toBe('new');
    expect((await backend.keys('a')).sort()).toEqual(['k', 'other']);
    await backend.close();
  });

  it('clear() of one namespace frees its room under max_items and leaves the others', async () => {
    const backend = new MemoryBackend({ max_items: 2 }, context);
    await backend.set('a', 'k', '1');
    await backend.set('b', 'k', '2');
    await backend.clear('a');
    await backend.set('c', 'k', '3'); // room left by the clear: nothing of b is evicted
    expect(await backend.get('b', 'k')).toBe('2');
    expect(await backend.get('a', 'k')).toBeUndefined();
    await backend.close();
  });
});
