/**
 * `npm start`: the beaker-ts demo web application on 127.0.0.1 (PORT, default 8080), configured from
 * examples/demo/development.ini (file sessions and caches under ./data).
 */
import { fileURLToPath } from 'node:url';
import { startDemo } from './app.js';

const iniPath = fileURLToPath(new URL('./development.ini', import.meta.url));
const demo = await startDemo(iniPath, Number(process.env.PORT ?? 8080));
console.log(`beaker-ts demo on ${demo.url} (configuration: ${iniPath}). Ctrl-C stops it.`);
const stop = (): void => {
  void demo.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
