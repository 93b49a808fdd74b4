import { describe, expect, it } from 'vitest';
import { forEachBounded } from '../../src/backends/kit/bounded.js';

/** A task that stays in flight until the test lets it finish. */
function heldTasks() {
  let inFlight = 0;
  let most = 0;
  const work = async (): Promise<void> => {
    inFlight += 1;
    most = Math.max(most, inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    inFlight -= 1;
  };
  return { work, most: () => most };
}

describe('forEachBounded', () => {
  it('never has more than the limit in flight, and does every item', async () => {
    const tasks = heldTasks();
    const done: number[] = [];
    await forEachBounded(
      Array.from({ length: 100 }, (_, index) => index),
      7,
      async (item) => {
        await tasks.work();
        done.push(item);
      },
    );
    expect(tasks.most()).toBe(7);
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, index) => index));
  });

  it('takes items from an async iterable as they come, and closes it after a failure', async () => {
    let taken = 0;
    let closed = false;
    async function* items(): AsyncGenerator<number> {
      try {
        for (let index = 0; index < 1000; index += 1) {
          taken += 1;
          yield index;
        }
      } finally {
        closed = true;
      }
    }
    await expect(
      forEachBounded(items(), 4, async (item) => {
        await new Promise((resolve) => setImmediate(resolve));
        if (item === 10) throw new Error('item 10 failed');
      }),
    ).rejects.toThrow('item 10 failed');
    expect(taken).toBeLessThan(20);
    expect(closed).toBe(true);
  });
});
