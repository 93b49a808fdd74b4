/**
 * `TrackedData`: a session's data together with what this request changed in it, so that a server-side save can
 * apply just those changes on top of what another request stored meanwhile, and `revert` can go back to the data as
 * loaded.
 * @module
 */
import { toSessionData, type DataRecord } from './format.js';

/** A key's new value, or undefined for a key removed. */
type Change = { value: unknown } | undefined;

/** The data of one session and this request's changes to it. */
export class TrackedData {
  #current: DataRecord = toSessionData({});
  #snapshot: DataRecord = toSessionData({});
  #changes = new Map<string, Change>();
  /** Everything stored before is to be replaced, not merged with (a cleared or new session). */
  #replacesStored = false;

  /** The data as it stands in this request. */
  get current(): DataRecord {
    return this.#current;
  }

  /** Takes `data`, read from the store or a cookie, as the current data. */
  adopt(data: DataRecord): void {
    this.#current = data;
  }

  /** Remembers the current data as loaded, for {@link revert}. */
  takeSnapshot(): void {
    this.#snapshot = toSessionData(this.#current);
  }

  set(key: string, value: unknown): void {
    this.#current[key] = value;
    this.#changes.set(key, { value });
  }

  unset(key: string): void {
    Reflect.deleteProperty(this.#current, key);
    this.#changes.set(key, undefined);
  }

  /** Removes every key: what was stored is replaced, not merged with. */
  clear(): void {
    this.#current = toSessionData({});
    this.#changes.clear();
    this.#replacesStored = true;
  }

  /** Goes back to the data as loaded, dropping this request's changes. */
  revert(): void {
    this.#current = toSessionData(this.#snapshot);
    this.#changes.clear();
    this.#replacesStored = false;
  }

  /** Counts every key as changed, replacing what was stored: the data moves to a record of its own. */
  rewriteAll(): void {
    this.#changes.clear();
    this.#replacesStored = true;
    for (const [key, value] of Object.entries(this.#current)) this.#changes.set(key, { value });
  }

  /** The changes are stored: later changes are counted from here. */
  committed(): void {
    this.#changes.clear();
    this.#replacesStored = false;
  }

  /** Drops the data and the changes: the session ends in this request. */
  discard(): void {
    this.#current = toSessionData({});
    this.#changes.clear();
  }

  /** Another request saved meanwhile: this request's changes are applied on top of what it stored. */
  mergeOnto(stored: DataRecord): void {
    const merged = this.#replacesStored ? toSessionData({}) : toSessionData(stored);
    for (const [key, change] of this.#changes) {
      if (change === undefined) Reflect.deleteProperty(merged, key);
      else merged[key] = change.value;
    }
    this.#current = merged;
  }
}
