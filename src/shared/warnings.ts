/**
 * Configuration warnings: risky or suspicious settings that are legal, reported once per call site
 * through an injectable handler (default: `process.emitWarning`).
 * @module
 */

/** A warning raised while reading configuration. */
export interface ConfigWarning {
  /** A stable code, such as `BEAKER_UNKNOWN_OPTION`. */
  code: string;
  /** The key the warning is about, as the user wrote it. */
  key: string;
  /** A sentence saying what is wrong and what to do. */
  message: string;
}

/** Receives configuration warnings; defaults to {@link emitProcessWarning}. */
export type ConfigWarningHandler = (warning: ConfigWarning) => void;

/** Reports a warning through Node's warning channel (`node --no-warnings` silences it, `--trace-warnings` traces it). */
export function emitProcessWarning(warning: ConfigWarning): void {
  process.emitWarning(warning.message, { type: 'BeakerConfigWarning', code: warning.code });
}

/** How long {@link ThrottledWarnings} stays quiet about one code after warning about it. */
export const WARNING_INTERVAL_MS = 10_000;

/**
 * Process warnings for events that can repeat at the rate of requests: at most one per code and back-end in each
 * {@link WARNING_INTERVAL_MS}. A store that is down fails every call, and a warning for each would flood the log
 * (and build a stack trace each). The next warning says how many were left out.
 */
export class ThrottledWarnings {
  readonly #type: string;
  readonly #now: () => number;
  readonly #last = new Map<string, { at: number; leftOut: number }>();

  /** `type` is the warning's name (`BeakerCacheWarning`); `now` a clock for tests. */
  constructor(type: string, now: () => number = Date.now) {
    this.#type = type;
    this.#now = now;
  }

  /** Warns, unless a warning with this code (about this back-end) went out within the interval. */
  emit(code: string, message: string, backend = ''): void {
    const key = `${code}\u0000${backend}`;
    const now = this.#now();
    const last = this.#last.get(key);
    if (last && now - last.at < WARNING_INTERVAL_MS) {
      last.leftOut += 1;
      return;
    }
    this.#last.set(key, { at: now, leftOut: 0 });
    const leftOut = last?.leftOut ?? 0;
    const note =
      leftOut > 0 ? ` (${String(leftOut)} more like it since the last such warning were not shown)` : '';
    process.emitWarning(`${message}${note}`, { type: this.#type, code });
  }
}

/** The warning code of a runtime event type: `backend-error` → `BEAKER_BACKEND_ERROR`. */
export function eventWarningCode(type: string): string {
  return `BEAKER_${type.toUpperCase().replaceAll('-', '_')}`;
}
