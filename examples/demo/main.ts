/**
 * The beaker-ts demo: reads development.ini the way a Pylons application would and shows what each option became.
 * Run it with `npm start`.
 */
import { fileURLToPath } from 'node:url';
import { loadIniConfig, parseCacheConfigOptions, parseSessionConfigOptions } from '../../src/index.js';

const iniPath = fileURLToPath(new URL('./development.ini', import.meta.url));
const config = await loadIniConfig(iniPath);
const session = parseSessionConfigOptions(config);
const cache = parseCacheConfigOptions(config);

console.log(`Read ${iniPath}\n`);
console.log('Session options (beaker.session.*):');
console.table(session);
console.log('Cache options (beaker.cache.*):');
const { cache_regions: regions = {}, ...globalCache } = cache;
console.table(globalCache);
console.log('Cache regions:');
console.table(regions);
