/** Timers that move only when a test advances them, so lock and lease tests wait on nothing real. */
import type { TimerHandle, Timers } from '../../src/shared/timers.js';

interface PendingTimer extends TimerHandle {
  at: number;
  order: number;
  callback: () => void;
}

/** Lets every promise chain that can settle now settle (a real macrotask turn, no I/O waited for). */
export function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class ManualTimers implements Timers {
  #now = Date.parse('2030-01-01T00:00:00Z');
  #scheduled = 0;
  readonly #pending: PendingTimer[] = [];

  readonly now = (): number => this.#now;

  readonly setTimeout = (callback: () => void, ms: number): TimerHandle => {
    const timer: PendingTimer = { at: this.#now + Math.max(0, ms), order: this.#scheduled++, callback };
    this.#pending.push(timer);
    return timer;
  };

  readonly clearTimeout = (handle: TimerHandle | undefined): void => {
    const index = this.#pending.indexOf(handle as PendingTimer);
    if (index >= 0) this.#pending.splice(index, 1);
  };

  /** How many callbacks are scheduled and not yet run. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  /**
   * Moves the clock `ms` forward, running each callback that falls due in time order, and letting the promises it
   * starts settle before the next one (as the event loop would).
   */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await settled();
      const next = this.#nextDue(end);
      if (!next) break;
      this.#now = next.at;
      this.#pending.splice(this.#pending.indexOf(next), 1);
      next.callback();
    }
    this.#now = end;
    await settled();
  }

  #nextDue(end: number): PendingTimer | undefined {
    let next: PendingTimer | undefined;
    for (const timer of this.#pending)
      if (
        timer.at <= end &&
        (!next || timer.at < next.at || (timer.at === next.at && timer.order < next.order))
      )
        next = timer;
    return next;
  }
}
