/**
 * The beaker-ts command line.
 *
 *   beaker-ts prune --config development.ini [--section app:main]
 *   beaker-ts sessions list --user <id> --config development.ini [--json]
 *   beaker-ts sessions revoke (--user <id> | --all-before <date>) --config development.ini
 *   beaker-ts cache expire-tag --tag <tag> [--tag <tag> ...] --config development.ini
 *   beaker-ts cache delete-tag --tag <tag> [--tag <tag> ...] --config development.ini
 *
 * `prune` removes expired sessions and cache entries (and leftovers of killed writers) from the file and dbm
 * back-ends that the INI file configures (`beaker.session.*`, `beaker.cache.*` and each cache region): run it from
 * cron. `sessions list` shows a user's live sessions (references and times, never ids); `sessions revoke` ends a
 * user's sessions, or every session created before a date, on the store the INI file configures. `cache expire-tag`
 * and `cache delete-tag` invalidate the cache entries with those tags in every store the INI file's caches use (after
 * a data fix, say): expired ones are served stale while one caller refreshes them, deleted ones are misses.
 * The program itself is `bin.ts`; this module only exports {@link main}, so importing it runs nothing.
 * @module
 */
import { parseArgs } from 'node:util';
import { CacheManager } from './cache/index.js';
import {
  loadIniConfig,
  parseCacheConfigOptions,
  parseSessionConfigOptions,
  type FlatConfig,
} from './config/index.js';
import { SessionManager } from './session/index.js';

const USAGE = [
  'usage: beaker-ts prune --config <file.ini> [--section app:main]',
  '       beaker-ts sessions list --user <id> --config <file.ini> [--section app:main] [--json]',
  '       beaker-ts sessions revoke (--user <id> | --all-before <date>) --config <file.ini> [--section app:main]',
  '       beaker-ts cache (expire-tag | delete-tag) --tag <tag> [--tag <tag> ...] --config <file.ini> [--section app:main]',
].join('\n');

/** Where the command line writes: `out` for results and `--help`, `error` for usage errors. */
export interface CliOutput {
  /** Prints one line of normal output (default: `console.log`). */
  out: (line: string) => void;
  /** Prints one line about a usage error (default: `console.error`). */
  error: (line: string) => void;
}

const CONSOLE_OUTPUT: CliOutput = { out: console.log, error: console.error };

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  section: { type: 'string' },
  user: { type: 'string', short: 'u' },
  'all-before': { type: 'string' },
  tag: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The options of a command line, as parsed. */
type CliValues = {
  config?: string;
  section?: string;
  user?: string;
  'all-before'?: string;
  tag?: string[];
  json?: boolean;
  help?: boolean;
};

/** A usage error: the command line cannot be run as given (exit code 2, with the usage). */
class UsageError extends Error {}

/**
 * Runs the command line with `argv` (the arguments after the program name); resolves to the exit code: 0 after a
 * command or `--help`, 2 (with the usage on `output.error`) for an unknown command, a missing or unknown option or a
 * value that cannot be read.
 */
export async function main(argv: readonly string[], output: CliOutput = CONSOLE_OUTPUT): Promise<number> {
  try {
    const { positionals, values } = parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS });
    if (values.help === true) {
      output.out(USAGE);
      return 0;
    }
    await run(positionals, values, output);
    return 0;
  } catch (error) {
    // parseArgs throws a TypeError for an unknown option or an option without its value: a usage error too.
    if (!(error instanceof UsageError) && !isParseArgsError(error)) throw error;
    output.error(`beaker-ts: ${error.message}`);
    output.error(USAGE);
    return 2;
  }
}

function isParseArgsError(error: unknown): error is Error {
  return error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS');
}

/** Runs the command `positionals` names. */
async function run(positionals: string[], values: CliValues, output: CliOutput): Promise<void> {
  const command = positionals.join(' ');
  const config = values.config;
  if (config === undefined) throw new UsageError('--config is required');
  if (command === 'prune') return prune(config, values.section, output);
  if (command === 'sessions list') return listSessions(config, values, output);
  if (command === 'sessions revoke') return revokeSessions(config, values, output);
  if (command === 'cache expire-tag' || command === 'cache delete-tag')
    return invalidateTags(command === 'cache expire-tag' ? 'expire' : 'delete', config, values, output);
  throw new UsageError(command === '' ? 'no command given' : `unknown command: ${command}`);
}

/** The configuration of the INI file, read quietly (the application itself reports its warnings). */
async function configOf(file: string, section: string | undefined): Promise<FlatConfig> {
  return loadIniConfig(file, section === undefined ? {} : { section });
}

/** Runs `work` with the sessions the INI file configures, closed afterwards. */
async function withSessions<R>(
  file: string,
  section: string | undefined,
  work: (sessions: SessionManager) => Promise<R>,
): Promise<R> {
  const config = await configOf(file, section);
  const sessions = new SessionManager({
    ...parseSessionConfigOptions(config, QUIET),
    onEvent: () => undefined,
  });
  try {
    return await work(sessions);
  } finally {
    await sessions.close();
  }
}

const QUIET = { onWarning: () => undefined };

async function prune(file: string, section: string | undefined, output: CliOutput): Promise<void> {
  const config = await configOf(file, section);
  const sessions = new SessionManager(parseSessionConfigOptions(config, QUIET));
  const caches = new CacheManager({ ...parseCacheConfigOptions(config, QUIET), onEvent: () => undefined });
  try {
    const removedSessions = sessions.options.type === 'cookie' ? 0 : await sessions.prune();
    const removedEntries = await caches.prune();
    output.out(
      `removed ${removedSessions} expired session(s) and ${removedEntries} expired cache entr(y/ies) or leftovers`,
    );
  } finally {
    await Promise.all([sessions.close(), caches.close()]);
  }
}

/** `cache expire-tag --tag T` or `cache delete-tag --tag T`, on every store of the configured caches. */
async function invalidateTags(
  invalidation: 'expire' | 'delete',
  file: string,
  values: CliValues,
  output: CliOutput,
): Promise<void> {
  const tags = values.tag ?? [];
  if (tags.length === 0) throw new UsageError(`cache ${invalidation}-tag needs --tag`);
  const config = await configOf(file, values.section);
  const caches = new CacheManager({ ...parseCacheConfigOptions(config, QUIET), onEvent: () => undefined });
  try {
    await (invalidation === 'expire' ? caches.expireByTag(tags) : caches.deleteByTag(tags));
  } finally {
    await caches.close();
  }
  output.out(
    invalidation === 'expire'
      ? `expired the cache entries tagged ${tags.join(', ')}: they are served stale while one caller refreshes each`
      : `deleted the cache entries tagged ${tags.join(', ')}`,
  );
}

/** `sessions list --user U`: a line per live session (or `--json`), never an id. */
async function listSessions(file: string, values: CliValues, output: CliOutput): Promise<void> {
  const user = values.user;
  if (user === undefined) throw new UsageError('sessions list needs --user');
  const listed = await withSessions(file, values.section, (sessions) => sessions.sessionsOf(user));
  if (values.json === true) {
    output.out(JSON.stringify(listed));
    return;
  }
  for (const { ref, created, lastAccessed, info } of listed) {
    const shown = info === undefined ? '' : `  ${JSON.stringify(info)}`;
    output.out(`${ref}  created ${created.toISOString()}  last access ${lastAccessed.toISOString()}${shown}`);
  }
  output.out(`${listed.length} session(s) of ${user}`);
}

/** `sessions revoke --user U` or `--all-before DATE`. */
async function revokeSessions(file: string, values: CliValues, output: CliOutput): Promise<void> {
  const { user, 'all-before': before } = values;
  if ((user === undefined) === (before === undefined))
    throw new UsageError('sessions revoke needs either --user or --all-before');
  if (user !== undefined) {
    const { ended, cookies } = await withSessions(file, values.section, async (sessions) => ({
      ended: await sessions.revokeAll(user),
      cookies: sessions.options.type === 'cookie',
    }));
    // Cookie sessions are in no store: they are refused from now on, and cannot be counted.
    output.out(
      cookies
        ? `revoked the cookie sessions of ${user}: every process refuses them within revocation_check_interval`
        : `revoked ${ended} session(s) of ${user}`,
    );
    return;
  }
  const date = new Date(before as string);
  if (!Number.isFinite(date.getTime()))
    throw new UsageError(
      `--all-before: not a date: ${String(before)} (use an ISO date, 2026-12-01T12:00:00Z)`,
    );
  const ended = await withSessions(file, values.section, (sessions) => sessions.revokeBefore(date));
  output.out(
    ended === undefined
      ? `revoked the cookie sessions issued before ${date.toISOString()}: every process refuses them within revocation_check_interval`
      : `revoked ${ended} session(s) created before ${date.toISOString()}`,
  );
}
