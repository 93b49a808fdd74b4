import { describe, expect, it } from 'vitest';
import { fetchByIds } from '../../src/backends/kit/batches.js';
import { forEachBounded, mapBounded } from '../../src/backends/kit/bounded.js';

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

describe('mapBounded', () => {
  it('gives the results in the order of the items, with never more than the limit in flight', async () => {
    const tasks = heldTasks();
    const items = Array.from({ length: 50 }, (_, index) => index);
    const results = await mapBounded(items, 5, async (item) => {
      await tasks.work();
      // Later items finish first half the time: the order comes from the items, not from completion.
      if (item % 2 === 0) await new Promise((resolve) => setImmediate(resolve));
      return item * 10;
    });
    expect(results).toEqual(items.map((item) => item * 10));
    expect(tasks.most()).toBe(5);
  });

  it('rejects with the first failure', async () => {
    await expect(
      mapBounded([1, 2, 3], 2, async (item) => {
        if (item === 2) throw new Error('item 2 failed');
        return item;
      }),
    ).rejects.toThrow('item 2 failed');
  });
});

describe('fetchByIds', () => {
  it('asks each distinct id once, in batches of the size given, and answers every position', async () => {
    const batches: string[][] = [];
    const ids = ['a', 'b', 'a', 'c', 'd', 'e', 'missing', 'b'];
    const values = await fetchByIds(ids, { batchSize: 2, concurrency: 2 }, async (batch) => {
      batches.push(batch);
      return new Map(batch.filter((id) => id !== 'missing').map((id) => [id, `value ${id}`]));
    });
    expect(batches).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'missing'],
    ]);
    expect(values).toEqual([
      'value a',
      'value b',
      'value a',
      'value c',
      'value d',
      'value e',
      undefined,
      'value b',
    ]);
  });

  it('asks nothing for no ids, and rejects when a batch fails', async () => {
    let asked = 0;
    const fetch = async (batch: string[]): Promise<Map<string, string>> => {
      asked += 1;
      if (batch.includes('bad')) throw new Error('the store failed');
      return new Map();
    };
    expect(await fetchByIds([], { batchSize: 10, concurrency: 1 }, fetch)).toEqual([]);
    expect(asked).toBe(0);
    await expect(fetchByIds(['good', 'bad'], { batchSize: 1, concurrency: 1 }, fetch)).rejects.toThrow(
      'the store failed',
    );
  });
});
