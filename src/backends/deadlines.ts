/**
 * Command timeouts for clients whose own per-command timer is costly (node-redis's halved its throughput here):
 * every pending call is checked by one coarse timer, which runs only while calls are pending, instead of a timer
 * per call.
 * @module
 */

interface PendingCall {
  deadline: number;
  reject: (error: Error) => void;
}

/** Rejects calls still pending `timeoutMs` after they started (give or take `tickMs`). */
export class Deadlines {
  readonly #timeoutMs: number;
  readonly #tickMs: number;
  /** In start order, which with one timeout is deadline order. */
  readonly #pending = new Set<PendingCall>();
  #timer: NodeJS.Timeout | undefined;

  constructor(timeoutMs: number, tickMs = 100) {
    this.#timeoutMs = timeoutMs;
    this.#tickMs = tickMs;
  }

  /** `call`, or a rejection when it is still pending after the timeout (the call itself is not cancelled). */
  run<R>(call: Promise<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const pending: PendingCall = { deadline: Date.now() + this.#timeoutMs, reject };
      this.#pending.add(pending);
      this.#timer ??= setInterval(() => {
        this.#sweep();
      }, this.#tickMs).unref();
      call.then(
        (value) => {
          this.#pending.delete(pending);
          resolve(value);
        },
        (error: unknown) => {
          this.#pending.delete(pending);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  #sweep(): void {
    const now = Date.now();
    for (const pending of this.#pending) {
      if (pending.deadline > now) break;
      this.#pending.delete(pending);
      pending.reject(new Error(`no reply within ${String(this.#timeoutMs)} ms`));
    }
    if (this.#pending.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
