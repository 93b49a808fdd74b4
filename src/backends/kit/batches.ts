/**
 * Batch reads by store id, what the `getMany` of a server back-end is made of: each distinct id asked once, in
 * batches no larger than the store takes, the answers put back in the order asked.
 * @module
 */
import { mapBounded } from './bounded.js';

/** How {@link fetchByIds} splits its ids. */
export interface BatchLimits {
  /** The most ids in one batch (one statement, one command, one lookup). */
  batchSize: number;
  /** The most batches in flight at once (each may hold a pooled connection). */
  concurrency: number;
}

/**
 * The values stored under `ids`, in their order (`undefined` where `fetch` found none). Each distinct id is asked
 * once, in batches of at most `limits.batchSize`, `limits.concurrency` batches at a time; `fetch` resolves to what
 * it found in one batch, by id, in any order, misses left out. An id given twice gets its value at each position.
 * The first batch that fails rejects, once the batches in flight have settled.
 */
export async function fetchByIds<V>(
  ids: readonly string[],
  limits: BatchLimits,
  fetch: (batch: string[]) => Promise<ReadonlyMap<string, V>>,
): Promise<(V | undefined)[]> {
  const distinct = [...new Set(ids)];
  const batches: string[][] = [];
  for (let start = 0; start < distinct.length; start += limits.batchSize) {
    batches.push(distinct.slice(start, start + limits.batchSize));
  }
  const found = await mapBounded(batches, limits.concurrency, fetch);
  const all =
    found.length === 1 ? (found[0] as ReadonlyMap<string, V>) : new Map(found.flatMap((batch) => [...batch]));
  return ids.map((id) => all.get(id));
}
