import { expect, it, vi } from 'vitest';
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
