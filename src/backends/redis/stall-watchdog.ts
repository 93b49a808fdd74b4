/**
 * Command timeouts for a connection that answers in order (one Redis connection), at no cost per command: instead
 * of a timer per call (node-redis's own halved its throughput here), a probe (PING) goes out on the connection
 * about every `tickMs` while commands are being sent. Replies come back in order, so a probe that returns means
 * every command sent before it was answered; a probe still unanswered after `timeoutMs` means the connection
 * stalled, and `onStall` drops it, which fails every pending call.
 * @module
 */

/** Watches one in-order connection; {@link StallWatchdog.noteCommand} on every command sent. */
export class StallWatchdog {
  readonly #timeoutMs: number;
  readonly #tickMs: number;
  readonly #probe: () => Promise<unknown>;
  readonly #onStall: () => void;
  /** Commands were sent since the last probe went out. */
  #busy = false;
  /** When the unanswered probe went out, or undefined. */
  #probeSentAt: number | undefined;
  /** Tells an old probe's late answer from the current one's. */
  #probeNumber = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: {
    timeoutMs: number;
    probe: () => Promise<unknown>;
    onStall: () => void;
    tickMs?: number;
  }) {
    this.#timeoutMs = options.timeoutMs;
    this.#tickMs = options.tickMs ?? 100;
    this.#probe = options.probe;
    this.#onStall = options.onStall;
  }

  /** Marks a command sent; the timer runs only while commands are being sent or probed. */
  noteCommand(): void {
    this.#busy = true;
    this.#timer ??= setInterval(() => {
      this.#tick();
    }, this.#tickMs).unref();
  }

  #tick(): void {
    if (this.#probeSentAt !== undefined) {
      if (Date.now() - this.#probeSentAt < this.#timeoutMs) return;
      this.#probeSentAt = undefined;
      this.#probeNumber += 1;
      this.#onStall();
      return;
    }
    if (!this.#busy) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    this.#busy = false;
    this.#sendProbe();
  }

  #sendProbe(): void {
    this.#probeSentAt = Date.now();
    const number = (this.#probeNumber += 1);
    const answered = (): void => {
      if (number === this.#probeNumber) this.#probeSentAt = undefined;
    };
    try {
      this.#probe().then(answered, answered);
    } catch {
      // A client that refuses at once (closed) is not stalled.
      answered();
    }
  }

  /** Stops watching (the connection is being closed). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#probeSentAt = undefined;
    this.#probeNumber += 1;
  }
}
