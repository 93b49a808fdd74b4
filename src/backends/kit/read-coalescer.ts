/**
 * Concurrent reads of one entry share one store query: under a stampede, fifty callers of a cold or stale key cost
 * one round trip, not fifty connections from the pool. A write, delete or clear ends the sharing, so a read that
 * starts after a write never gets a result fetched before it.
 * @module
 */
export class ReadCoalescer<T> {
  readonly #inFlight = new Map<string, Promise<T>>();

  /** The result of `read`, shared with the identical reads already in flight. */
  read(id: string, read: () => Promise<T>): Promise<T> {
    const running = this.#inFlight.get(id);
    if (running) return running;
    const started = read().finally(() => {
      if (this.#inFlight.get(id) === started) this.#inFlight.delete(id);
    });
    this.#inFlight.set(id, started);
    return started;
  }

  /** Later reads of `id` start a new query. */
  forget(id: string): void {
    this.#inFlight.delete(id);
  }

  /** Later reads of every entry start new queries. */
  forgetAll(): void {
    this.#inFlight.clear();
  }
}
