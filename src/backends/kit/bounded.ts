/**
 * Work over many items with a fixed number in flight: a namespace of a million files must not open a million files
 * at once (EMFILE), nor wait for each one in turn.
 * @module
 */

/**
 * Runs `work` on each item of `items`, at most `limit` at a time, taking items as they come (a directory read with
 * `opendir` is never listed whole). The first failure stops the taking of further items and rejects, once the
 * items already in flight have settled.
 */
export async function forEachBounded<T>(
  items: Iterable<T> | AsyncIterable<T>,
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const iterator = Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined) {
      const next = await iterator.next();
      if (next.done === true) return;
      try {
        await work(next.value);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: limit }, worker));
  } finally {
    // Closes a directory handle that was not read to its end.
    await iterator.return?.();
  }
  if (failure !== undefined) throw failure.error;
}

/**
 * The results of `work` on each item of `items`, in their order, at most `limit` running at a time (a batch read of
 * many files opens no more than `limit` at once). The first failure rejects, once the work in flight has settled.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  await forEachBounded(items.keys(), limit, async (index) => {
    results[index] = await work(items[index] as T);
  });
  return results;
}
