/**
 * Choosing between two client libraries that are optional peer dependencies (`memcache_module = auto`,
 * `redis_module = auto`).
 * @module
 */
import { MissingDependencyError } from '../errors.js';

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
