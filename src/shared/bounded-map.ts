/**
 * A map with a bound on how many entries it keeps: at the bound, the oldest entry is forgotten to make room. For
 * what a process may remember but need not (derived key strings, when to try again), so that it never grows with
 * the keyspace.
 * @module
 */
export class BoundedMap<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #max: number;

  /** `max`: the most entries kept. */
  constructor(max: number) {
    this.#max = max;
  }

  /** How many entries are kept now. */
  get size(): number {
    return this.#entries.size;
  }

  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  /** Keeps `value` under `key`, forgetting the oldest entry first when the map is full. */
  set(key: K, value: V): void {
    if (!this.#entries.has(key) && this.#entries.size >= this.#max) {
      // A Map iterates in insertion order: its first key is the oldest.
      this.#entries.delete(this.#entries.keys().next().value as K);
    }
    this.#entries.set(key, value);
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  /**
   * The value of `key`: the one kept, or `derive(key)`, kept. For values that are pure functions of their key, so that
   * a value kept is always the one the derivation gives. `derive` must not return undefined.
   */
  valueOf(key: K, derive: (key: K) => V): V {
    let value = this.#entries.get(key);
    if (value === undefined) {
      value = derive(key);
      this.set(key, value);
    }
    return value;
  }
}
