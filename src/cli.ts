#!/usr/bin/env node
/**
 * The beaker-ts command line.
 *
 *   beaker-ts prune --config development.ini [--section app:main]
 *
 * Removes expired sessions and cache entries (and leftovers of killed writers) from the file and dbm back-ends that
 * the INI file configures (`beaker.session.*`, `beaker.cache.*` and each cache region). Run it from cron.
 * @module
 */
import { parseArgs } from 'node:util';
import { CacheManager } from './cache/index.js';
import { loadIniConfig, parseCacheConfigOptions, parseSessionConfigOptions } from './config/index.js';
import { SessionManager } from './session/index.js';

const USAGE = 'usage: beaker-ts prune --config <file.ini> [--section app:main]';

/** Runs the command line; resolves to the exit code. */
export async function main(
  argv: readonly string[],
  print: (line: string) => void = console.log,
): Promise<number> {
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      section: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals[0] !== 'prune' || values.config === undefined) {
    print(USAGE);
    return values.help ? 0 : 2;
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
    print(
      `removed ${removedSessions} expired session(s) and ${removedEntries} expired cache entr(y/ies) or leftovers`,
    );
    return 0;
  } finally {
    await Promise.all([sessions.close(), caches.close()]);
  }
}

// Run when executed, not when imported (tests import main).
if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*[\\/]/, ''))) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
