/**
 * A memo of derived values with a bound on how many it keeps: the oldest is forgotten first, and derived again at
 * its next use. For values that are pure functions of their key (a key string built from an argument), so that a
 * remembered value is always the one the derivation gives.
 * @module
 */
export class BoundedMemo<K, V> {
  readonly #values = new Map<K, V>();
  readonly #max: number;

  /** `max`: the most values kept. */
  constructor(max: number) {
    this.#max = max;
  }

  /** How many values are remembered now. */
  get size(): number {
    return this.#values.size;
  }

  /** The value of `key`: the remembered one, or `derive(key)`, remembered. `derive` must not return undefined. */
  valueOf(key: K, derive: (key: K) => V): V {
    let value = this.#values.get(key);
    if (value === undefined) {
      value = derive(key);
      if (this.#values.size >= this.#max) {
        // A Map iterates in insertion order: its first key is the oldest.
        this.#values.delete(this.#values.keys().next().value as K);
      }
      this.#values.set(key, value);
    }
    return value;
  }
}
