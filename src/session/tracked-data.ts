/**
 * `TrackedData`: a session's data together with what this request changed in it, so that a server-side save can
 * apply just those changes on top of what another request stored meanwhile, and `revert` can go back to the data as
 * loaded.
 * @module
 */
import { toSessionData, type DataRecord } from './format.js';

/** A key's new value, or undefined for a key removed. */
type Change = { value: unknown } | undefined;

/** The data before any is adopted: never changed in place (every change in place follows a load, which replaces it). */
const NO_DATA = Object.freeze(Object.create(null)) as DataRecord;

/** The data of one session and this request's changes to it. */
export class TrackedData {
  #current: DataRecord = NO_DATA;
  /**
   * {@link #current} is an object as JSON.parse made it (with `Object.prototype`), adopted without a copy: it is
   * copied into a null-prototype object before any change in place and before anyone else sees it.
   */
  #parsed = false;
  /**
   * The data as loaded, for {@link revert}: the loaded object itself until the first change made to it in place
   * ({@link set}, {@link unset}), which copies it first. A read-only request copies nothing.
   */
  #loaded: DataRecord = NO_DATA;
  /** This request's changes; made at the first one. */
  #changes: Map<string, Change> | undefined;
  /** Everything stored before is to be replaced, not merged with (a cleared or new session). */
  #replacesStored = false;

  /** The data as it stands in this request: a null-prototype object. */
  get current(): DataRecord {
    if (this.#parsed) this.#ownCopy();
    return this.#current;
  }

  /** The value of `key`, or undefined (never one inherited from a prototype). */
  value(key: string): unknown {
    const data = this.#current;
    return Object.hasOwn(data, key) ? data[key] : undefined;
  }

  /** A copy of the data, as a plain object. */
  copy(): Record<string, unknown> {
    return { ...this.#current };
  }

  /** Whether the data holds `key`. */
  has(key: string): boolean {
    return Object.hasOwn(this.#current, key);
  }

  /**
   * Takes `data`, just decoded from the store or a cookie, as the current data: a null-prototype object, or an
   * object JSON.parse made (then copied only when needed). This object keeps it, unshared.
   */
  adopt(data: DataRecord): void {
    this.#current = data;
    this.#parsed = Object.getPrototypeOf(data) !== null;
  }

  /** Remembers the current data as loaded, for {@link revert} (copied only when it is first changed in place). */
  takeSnapshot(): void {
    this.#loaded = this.#current;
  }

  set(key: string, value: unknown): void {
    if (this.#parsed) this.#ownCopy();
    this.#beforeChangeInPlace();
    this.#current[key] = value;
    (this.#changes ??= new Map()).set(key, { value });
  }

  unset(key: string): void {
    if (this.#parsed) this.#ownCopy();
    this.#beforeChangeInPlace();
    Reflect.deleteProperty(this.#current, key);
    (this.#changes ??= new Map()).set(key, undefined);
  }

  /** Removes every key: what was stored is replaced, not merged with. */
  clear(): void {
    this.#current = toSessionData({});
    this.#parsed = false;
    this.#changes?.clear();
    this.#replacesStored = true;
  }

  /** Goes back to the data as loaded, dropping this request's changes. */
  revert(): void {
    this.#current = toSessionData(this.#loaded);
    this.#parsed = false;
    this.#changes?.clear();
    this.#replacesStored = false;
  }

  /** Counts every key as changed, replacing what was stored: the data moves to a record of its own. */
  rewriteAll(): void {
    const changes = (this.#changes ??= new Map());
    changes.clear();
    this.#replacesStored = true;
    for (const [key, value] of Object.entries(this.#current)) changes.set(key, { value });
  }

  /** The changes are stored: later changes are counted from here. */
  committed(): void {
    this.#changes?.clear();
    this.#replacesStored = false;
  }

  /** Drops the data and the changes: the session ends in this request. */
  discard(): void {
    this.#current = toSessionData({});
    this.#parsed = false;
    this.#changes?.clear();
  }

  /** Another request saved meanwhile: this request's changes are applied on top of what it stored. */
  mergeOnto(stored: DataRecord): void {
    const merged = toSessionData(this.#replacesStored ? {} : stored);
    if (this.#changes) {
      for (const [key, change] of this.#changes) {
        if (change === undefined) Reflect.deleteProperty(merged, key);
        else merged[key] = change.value;
      }
    }
    this.#current = merged;
    this.#parsed = false;
  }

  /**
   * The parsed object becomes a null-prototype copy; the parsed one stays as loaded, for {@link revert} (nothing
   * changes it: it is no longer current).
   */
  #ownCopy(): void {
    this.#current = toSessionData(this.#current);
    this.#parsed = false;
  }

  /** The data as loaded is about to change in place: it is copied first, for {@link revert}. */
  #beforeChangeInPlace(): void {
    if (this.#loaded === this.#current) this.#loaded = toSessionData(this.#current);
  }
}
