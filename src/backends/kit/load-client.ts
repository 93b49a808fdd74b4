/**
 * Loading a back-end's client library, which is an optional peer dependency: a missing package becomes a
 * {@link MissingDependencyError} that says what to install.
 * @module
 */
import { MissingDependencyError } from '../../shared/errors.js';
import type { ClientDependency } from '../define.js';

/**
 * The error for a client library that is not installed.
 *
 * @param usedBy what needs it, as the start of a sentence: `The ext:redis back-end`.
 * @param alternative another package that would also do.
 */
export function missingClient(
  dependency: Pick<ClientDependency, 'name'>,
  usedBy: string,
  cause: unknown,
  alternative?: Pick<ClientDependency, 'name'>,
): MissingDependencyError {
  return new MissingDependencyError(dependency.name, usedBy, {
    cause,
    ...(alternative === undefined ? {} : { alternative: alternative.name }),
  });
}

/**
 * Loads `dependency`; when it cannot be loaded, rejects with a {@link MissingDependencyError} naming the package.
 *
 * @param usedBy what needs it, as the start of a sentence: `The ext:mongodb back-end`.
 * @example const driver = await loadClient(MONGODB_DRIVER, 'The ext:mongodb back-end');
 */
export async function loadClient<T>(dependency: ClientDependency<T>, usedBy: string): Promise<T> {
  try {
    return await dependency.load();
  } catch (error) {
    throw missingClient(dependency, usedBy, error);
  }
}

/**
 * `preferred()`, or `fallback()` when the preferred library is not installed; when neither is, `neither`'s error
 * (which names the package to install). Other errors, such as a server that is down, pass through.
 */
export async function preferInstalled<T>(
  preferred: () => Promise<T>,
  fallback: () => Promise<T>,
  neither: (cause: unknown) => MissingDependencyError,
): Promise<T> {
  try {
    return await preferred();
  } catch (error) {
    if (!(error instanceof MissingDependencyError)) throw error;
    return fallback().catch((fallbackError: unknown) => {
      throw fallbackError instanceof MissingDependencyError ? neither(fallbackError) : fallbackError;
    });
  }
}
