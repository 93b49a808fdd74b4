#!/usr/bin/env node
/**
 * The `beaker-ts` program (package.json `bin`): runs {@link main} with the process's arguments and sets the exit
 * code. It always runs, however it is started (through `node_modules/.bin/beaker-ts`, `npx` or a path), because it
 * does nothing but run the command line; the command line itself is importable from `cli.ts`.
 * @module
 */
import { main } from './cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`beaker-ts: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
