/** Cache managers that a test file makes and that are closed after each test. */
import { afterEach } from 'vitest';
import { CacheManager } from '../../src/index.js';

/**
 * Registers the closing (call it at the top of a test file) and returns the function that makes the managers:
 * events are dropped unless the options take them.
 */
export function managersClosedAfterEach(): (
  options?: ConstructorParameters<typeof CacheManager>[0],
) => CacheManager {
  const managers: CacheManager[] = [];
  afterEach(async () => {
    await Promise.all(managers.splice(0).map((manager) => manager.close()));
  });
  return (options = {}) => {
    const manager = new CacheManager({ onEvent: () => undefined, ...options });
    managers.push(manager);
    return manager;
  };
}
