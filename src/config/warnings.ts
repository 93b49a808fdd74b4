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
