/**
 * One store command of a server back-end: its failure becomes a {@link BackendError} naming the back-end and the
 * command, with the client's error as the cause.
 * @module
 */
import { BackendError } from './errors.js';

/** The error for a failed command. */
export function commandError(backend: string, what: string, error: unknown): BackendError {
  return new BackendError(
    backend,
    `${what} failed: ${error instanceof Error ? error.message : String(error)}`,
    {
      cause: error,
    },
  );
}

/** A rejection handler that turns a failure of `what` into a {@link BackendError}; build it once, use it often. */
export function commandFailure(backend: string, what: string): (error: unknown) => never {
  return (error) => {
    throw commandError(backend, what, error);
  };
}

/**
 * Runs `command`, turning its failure into a {@link BackendError}. A `.catch` rather than an async wrapper: it is
 * on every store call, and each extra promise costs there.
 */
export function storeCommand<R>(backend: string, what: string, command: () => Promise<R>): Promise<R> {
  try {
    return command().catch(commandFailure(backend, what));
  } catch (error) {
    return Promise.reject(commandError(backend, what, error));
  }
}
