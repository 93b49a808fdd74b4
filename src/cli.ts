/**
 * The beaker-ts command line.
 *
 *   beaker-ts prune --config development.ini [--section app:main]
 *
 * Removes expired sessions and cache entries (and leftovers of killed writers) from the file and dbm back-ends that
 * the INI file configures (`beaker.session.*`, `beaker.cache.*` and each cache region). Run it from cron.
 * The program itself is `bin.ts`; this module only exports {@link main}, so importing it runs nothing.
 * @module
 */
import { parseArgs } from 'node:util';
import { CacheManager } from './cache/index.js';
import { loadIniConfig, parseCacheConfigOptions, parseSessionConfigOptions } from './config/index.js';
import { SessionManager } from './session/index.js';

const USAGE = 'usage: beaker-ts prune --config <file.ini> [--section app:main]';

/** Where the command line writes: `out` for results and `--help`, `error` for usage errors. */
export interface CliOutput {
  /** Prints one line of normal output (default: `console.log`). */
  out: (line: string) => void;
  /** Prints one line about a usage error (default: `console.error`). */
  error: (line: string) => void;
}

const CONSOLE_OUTPUT: CliOutput = { out: console.log, error: console.error };

/**
 * Runs the command line with `argv` (the arguments after the program name); resolves to the exit code: 0 after a
 * prune or `--help`, 2 (with the usage on `output.error`) for an unknown command, a missing `--config` or an unknown
 * option.
 */
export async function main(argv: readonly string[], output: CliOutput = CONSOLE_OUTPUT): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        section: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    // parseArgs throws for an unknown option or an option without its value: a usage error, not a crash.
    output.error(`beaker-ts: ${error instanceof Error ? error.message : String(error)}`);
    output.error(USAGE);
    return 2;
  }
  const { positionals, values } = parsed;
  if (values.help === true) {
    output.out(USAGE);
    return 0;
  }
  if (positionals[0] !== 'prune' || positionals.length > 1 || values.config === undefined) {
    output.error(USAGE);
    return 2;
  }
  const config = await loadIniConfig(
    values.config,
    values.section === undefined ? {} : { section: values.section },
  );
  const quiet = { onWarning: () => undefined };
  const sessions = new SessionManager(parseSessionConfigOptions(config, quiet));
  const caches = new CacheManager({ ...parseCacheConfigOptions(config, quiet), onEvent: () => undefined });
  try {
    const removedSessions = sessions.options.type === 'cookie' ? 0 : await sessions.prune();
    const removedEntries = await caches.prune();
    output.out(
      `removed ${removedSessions} expired session(s) and ${removedEntries} expired cache entr(y/ies) or leftovers`,
    );
    return 0;
  } finally {
    await Promise.all([sessions.close(), caches.close()]);
  }
}
