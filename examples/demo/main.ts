/**
 * The beaker-ts demo: reads development.ini the way a Pylons application would, then caches a slow computation in
 * the configured regions and shows hits, misses and expiry. Run it with `npm start`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  CacheManager,
  loadIniConfig,
  parseCacheConfigOptions,
  parseSessionConfigOptions,
} from '../../src/index.js';

const iniPath = fileURLToPath(new URL('./development.ini', import.meta.url));
const config = await loadIniConfig(iniPath);
const cacheOptions = parseCacheConfigOptions(config);
console.log(`Read ${iniPath}`);
console.log('Session options:', parseSessionConfigOptions(config));
console.log('Cache regions:', cacheOptions.cache_regions, '\n');

const manager = new CacheManager(cacheOptions);
let computations = 0;

/** A slow computation: the sum of squares below n, after a pause. */
async function sumOfSquares(n: number): Promise<number> {
  computations += 1;
  await sleep(300);
  let sum = 0;
  for (let i = 0; i < n; i += 1) sum += i * i;
  return sum;
}

const shortTerm = manager.region('short_term', 'squares')(sumOfSquares);
const longTerm = manager.region(
  'long_term',
  'squares',
)(async function sumOfSquaresOnDisk(n: number) {
  return sumOfSquares(n);
});

async function timed(label: string, run: () => Promise<number>): Promise<void> {
  const before = computations;
  const started = performance.now();
  const value = await run();
  const ms = (performance.now() - started).toFixed(1);
  console.log(
    `${label.padEnd(56)} = ${value}  ${computations > before ? 'MISS, computed' : 'hit'} in ${ms} ms`,
  );
}

await timed('short_term (memory): sumOfSquares(1e5)', () => shortTerm(1e5));
await timed('short_term (memory): sumOfSquares(1e5) again', () => shortTerm(1e5));
await timed('short_term (memory): sumOfSquares(2e5)', () => shortTerm(2e5));
await timed('long_term (file under ./data): sumOfSquares(1e5)', () => longTerm(1e5));
await timed('long_term (file under ./data): sumOfSquares(1e5) again', () => longTerm(1e5));

console.log('\n20 concurrent calls of a cold key (dog-pile protection):');
await manager.regionInvalidate(shortTerm, undefined, 3e5);
const before = computations;
await Promise.all(Array.from({ length: 20 }, () => shortTerm(3e5)));
console.log(`  computed ${computations - before} time(s) for 20 callers`);

await manager.regionInvalidate(longTerm, undefined, 1e5);
await timed('long_term after regionInvalidate(1e5)', () => longTerm(1e5));
console.log('\nRun `npm start` again: the long_term values come from the files under ./data (hits).');
await manager.close();
