/**
 * One run of a creator: the context it receives (an `AbortSignal`, the stale value, ways to choose its entry's expiry
 * and tags or not to store it) and the `hard_timeout` after which it is abandoned.
 * @module
 */
import { CreationTimeoutError } from '../shared/errors.js';
import { withinTime, type Timers } from '../shared/timers.js';

/**
 * What a creator receives: `createfunc: ({ signal, stale }) => fetch(url, { signal })`. Creators that take no
 * argument ignore it.
 */
export interface CreationContext<V> {
  /** The key whose value is being created. */
  readonly key: string;
  /**
   * Aborted when the creation is abandoned at the cache's `hard_timeout` (its reason: a `CreationTimeoutError`):
   * give it to `fetch` and database calls so that abandoned work stops.
   */
  readonly signal: AbortSignal;
  /** Is there an expired (or tag-expired) value that this creation replaces? */
  readonly hasStale: boolean;
  /** That expired value, when there is one. */
  readonly stale: V | undefined;
  /**
   * Sets how long the created value stays fresh, in seconds (`null`: forever), instead of the call's or the cache's
   * `expire`: for a value that says how long it is good for (a token with its own expiry).
   */
  setExpire(seconds: number | null): void;
  /**
   * Adds tags to the created entry, besides the cache's and the call's. Call it before reading the data the value is
   * computed from: the tags' tokens are read when it is called, so that an invalidation after it counts.
   */
  addTags(...tags: string[]): void;
  /** Does not store the created value (an error page, an empty result): the caller still gets it. */
  skip(): void;
}

/** Creates the value of a missing or expired key; it may use its {@link CreationContext}. */
export type CreateFunction<V> = (context: CreationContext<V>) => V | Promise<V>;

/** What a creator chose for its entry through its context. */
export interface CreationChoices {
  /** Set by `setExpire`: seconds, or null for never. Absent: the call's or the cache's. */
  expire?: number | null;
  /** Added by `addTags`. */
  tags?: string[];
  /** Set by `skip`: the value is not stored. */
  skip: boolean;
}

/** A created value and what its creator chose for its entry. */
export interface Created<V> {
  value: V;
  choices: CreationChoices;
}

/** What a run needs besides the creator. */
export interface CreationRun<V> {
  namespace: string;
  key: string;
  /** The expired value this creation replaces, when there is one. */
  stale: { value: unknown } | undefined;
  /** Abandon the creation after this many ms; null: never. */
  hardTimeoutMs: number | null;
  timers: Timers;
  createfunc: CreateFunction<V>;
  /** Told of the tags the creator adds, when it adds them (so that their tokens are read before its data). */
  onAddTags?: (tags: readonly string[]) => void;
}

/**
 * The context of one run. Its methods live on the class and its `AbortController` is made only when the creator
 * asks for the signal: a creation allocates little, so that the entries it stores stay close together in memory.
 */
class RunContext<V> implements CreationContext<V> {
  readonly key: string;
  readonly hasStale: boolean;
  readonly stale: V | undefined;
  readonly choices: CreationChoices = { skip: false };
  readonly #onAddTags: ((tags: readonly string[]) => void) | undefined;
  #controller: AbortController | undefined;
  #abandonedWith: Error | undefined;

  constructor(run: CreationRun<V>) {
    this.key = run.key;
    this.hasStale = run.stale !== undefined;
    this.stale = run.stale?.value as V | undefined;
    this.#onAddTags = run.onAddTags;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abandonedWith !== undefined) this.#controller.abort(this.#abandonedWith);
    }
    return this.#controller.signal;
  }

  /** Aborts the signal (now, or when the creator asks for it later) with `reason`. */
  abandon(reason: Error): void {
    this.#abandonedWith = reason;
    this.#controller?.abort(reason);
  }

  setExpire(seconds: number | null): void {
    if (seconds !== null && !(typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0)) {
      throw new RangeError(`setExpire() takes a positive number of seconds or null, not ${String(seconds)}`);
    }
    this.choices.expire = seconds;
  }

  addTags(...tags: string[]): void {
    for (const tag of tags) {
      if (typeof tag !== 'string' || tag === '') throw new TypeError('a tag must be a non-empty string');
    }
    this.choices.tags = [...(this.choices.tags ?? []), ...tags];
    this.#onAddTags?.(tags);
  }

  skip(): void {
    this.choices.skip = true;
  }
}

/**
 * Runs the creator once. With a hard timeout, the run rejects with a {@link CreationTimeoutError} when the creator
 * has not settled in time, after aborting its signal; what the creator does afterwards is ignored. A creator that
 * throws at once rejects the run as one that fails later does.
 */
export function runCreation<V>(run: CreationRun<V>): Promise<Created<V>> {
  const context = new RunContext(run);
  const choices = context.choices;
  let created: Promise<V>;
  try {
    created = Promise.resolve(run.createfunc(context));
  } catch (error) {
    created = Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
  const timeoutMs = run.hardTimeoutMs;
  const outcome = created.then((value) => ({ value, choices }));
  if (timeoutMs === null) return outcome;
  // An abandoned creator's later failure (most often the abort itself) has no caller left to tell.
  return withinTime(run.timers, timeoutMs, outcome, () => {
    const error = new CreationTimeoutError(run.namespace, run.key, timeoutMs);
    context.abandon(error);
    throw error;
  });
}
