/**
 * `SessionManager`: resolves the session options once (back-end, keys, cookie attributes, formats) and hands out a
 * lazy {@link Session} per request: a {@link ServerSession}, or a {@link CookieSession} for `type = cookie`. The
 * options are resolved in the steps of ./resolve-settings.ts. Frameworks reach it through the adapters.
 * @module
 */
import type { AnyBackend, BackendFactory } from '../backends/contract.js';
import type { BackendDescriptor } from '../backends/define.js';
import type { SessionOptions } from '../config/index.js';
import { isConfigurationError, redactCredentials } from '../shared/errors.js';
import { CookieSession } from './cookie-session.js';
import type { AppSessionData } from './data.js';
import {
  backendOpener,
  checkedSessionKeys,
  cookieSessionSettings,
  idsAtRest,
  maxSessionBytes,
  resolveManagerOptions,
  serverSessionSettings,
  sessionBackendDescriptor,
  sessionLocks,
  sharedSessionSettings,
} from './resolve-settings.js';
import { ServerSession, removeStoredBefore, userSessionsOf } from './server-session.js';
import { SessionRecords } from './session-records.js';
import type { UserSessionInfo, UserSessions } from './user-index.js';
import type { Session, SessionEvent } from './session.js';
import type { ServerSessionSettings, SessionSettings } from './settings.js';

/** Options of {@link SessionManager}: the output of `parseSessionConfigOptions`, plus what only code can give. */
export interface SessionManagerOptions extends SessionOptions {
  /** Back-ends to register, by `type` name: descriptors (`defineBackend`) or plain factories. */
  backends?: Record<string, BackendDescriptor | BackendFactory>;
  /** Receives problems that do not fail a request (a corrupt session replaced, a lock not obtained). */
  onEvent?: (event: SessionEvent) => void;
  /** The current time in ms since the epoch; inject a fake clock in tests. */
  clock?: () => number;
  /**
   * Option names to accept without a warning: the options of back-ends you registered yourself. Any other unknown
   * option is passed to the back-end and reported with a `BeakerConfigWarning` naming the nearest known option.
   * @default []
   */
  knownOptions?: readonly string[];
}

/** How a manager makes the sessions of its configured kind. */
interface SessionMaker {
  /** The lazy session of one request. */
  forRequest<T extends object>(cookieHeader: string | undefined): Session<T>;
  /** The session stored under `id`, read without any cookie. */
  forStoredId<T extends object>(id: string): Session<T>;
}

/** A kind of session: the class of {@link ServerSession} or {@link CookieSession}, given its settings. */
type SessionKind<S extends SessionSettings> = new <T extends object>(
  settings: S,
  cookieHeader: string | undefined,
) => Session<T>;

/** Makes sessions of `kind`, sharing `settings`. */
function sessionMaker<S extends SessionSettings>(kind: SessionKind<S>, settings: S): SessionMaker {
  const byId: S = { ...settings, useCookies: false };
  return {
    forRequest: <T extends object>(cookieHeader: string | undefined) => new kind<T>(settings, cookieHeader),
    forStoredId: <T extends object>(id: string) => new kind<T>({ ...byId, forcedId: id }, undefined),
  };
}

/**
 * Sessions configured the Beaker way.
 *
 * @example
 * const sessions = new SessionManager(parseSessionConfigOptions(config));
 * const session = sessions.session(request.headers.cookie);
 * await session.set('user', 'ada');
 * await session.save();
 */
export class SessionManager {
  readonly options: Readonly<SessionOptions>;
  readonly #sessions: SessionMaker;
  readonly #report: (event: SessionEvent) => void;
  /** Opens the back-end of server-side sessions; undefined for cookie sessions, which have none. */
  readonly #openBackend: (() => Promise<AnyBackend>) | undefined;
  #backend: Promise<AnyBackend> | undefined;
  /** What {@link #backend} resolved to, once it has. */
  #opened: AnyBackend | undefined;
  /** The sessions of each user; undefined for cookie sessions, which have no store to list them from. */
  readonly #userSessions: UserSessions | undefined;
  /** The settings of server-side sessions; undefined for cookie sessions. */
  readonly #server: ServerSessionSettings | undefined;

  constructor(options: SessionManagerOptions = {}) {
    const resolved = resolveManagerOptions(options);
    this.options = resolved.session;
    this.#report = resolved.report;
    const keys = checkedSessionKeys(resolved.session, resolved.type);
    const shared = sharedSessionSettings(resolved);
    if (resolved.type === 'cookie') {
      this.#sessions = sessionMaker(CookieSession, cookieSessionSettings(shared, keys));
    } else {
      const descriptor = sessionBackendDescriptor(resolved);
      this.#openBackend = backendOpener(resolved, descriptor);
      const records = new SessionRecords({
        backend: () => this.#resolveBackend(),
        openedBackend: () => this.#opened,
        locks: sessionLocks(descriptor, resolved.session.lock_dir),
        report: resolved.report,
      });
      const settings = serverSessionSettings(
        shared,
        keys,
        records,
        maxSessionBytes(resolved.session),
        idsAtRest(resolved.session),
      );
      this.#userSessions = userSessionsOf(settings);
      this.#server = settings;
      this.#sessions = sessionMaker(ServerSession, settings);
    }
  }

  /** The lazy session of one request: nothing is read until it is used. */
  session<T extends object = AppSessionData>(cookieHeader: string | undefined): Session<T> {
    return this.#sessions.forRequest<T>(cookieHeader);
  }

  /** The stored session `id`, or undefined when the store has none (Beaker's `get_by_id`); creates nothing. */
  async getById<T extends object = AppSessionData>(id: string): Promise<Session<T> | undefined> {
    const session = this.#sessions.forStoredId<T>(id);
    await session.load();
    return session.isNew ? undefined : session;
  }

  /**
   * Opens the session store, so that a configuration that cannot work fails at start-up rather than at the first
   * request: rejects with {@link ConfigError} for an invalid back-end option (an unreadable `url`, say) and
   * {@link MissingDependencyError} for a client library that is not installed (an unknown `type` already failed
   * the constructor). A store that is only down does not reject: it is reported as a `store-error` event, and
   * requests get 503 until it is back. The adapters' middlewares have the same `ready()`.
   *
   * @example
   * const sessions = new SessionManager(parseSessionConfigOptions(config));
   * await sessions.ready();
   */
  async ready(): Promise<void> {
    if (!this.#openBackend) return;
    try {
      await this.#resolveBackend();
    } catch (error) {
      if (isConfigurationError(error)) throw error;
      this.#report({
        type: 'store-error',
        message: `the session store cannot be reached at start-up: ${redactCredentials(error instanceof Error ? error.message : String(error))}`,
        error,
      });
    }
  }

  /**
   * The live sessions of `user` (bound with `session.setUser`), the most recently used first: references, times and
   * the info kept with them, never their ids. Sessions that expired or were removed are not listed.
   *
   * @example
   * const mine = await sessions.sessionsOf(user);
   * const others = mine.filter(({ ref }) => ref !== req.session.ref);
   */
  sessionsOf(user: string): Promise<UserSessionInfo[]> {
    return this.#userSessionsFor('sessionsOf').list(user);
  }

  /**
   * Ends the session `ref` of `user` (a reference from {@link sessionsOf}): its record is removed, so its cookie no
   * longer works on any process, and a request of it in flight cannot save it back. Resolves to false when `user`
   * has no such session (another user's reference ends nothing).
   */
  revoke(user: string, ref: string): Promise<boolean> {
    return this.#userSessionsFor('revoke').revoke(user, ref);
  }

  /**
   * Ends every session of `user` ("log out everywhere"), but `except`: a session (or its reference) to keep, the
   * current one for "log out everywhere else". Resolves to how many sessions were ended.
   *
   * @example
   * await sessions.revokeAll(user, { except: req.session });
   */
  revokeAll(user: string, options: { except?: Session<object> | string } = {}): Promise<number> {
    const { except } = options;
    return this.#userSessionsFor('revokeAll').revokeAll(
      user,
      typeof except === 'string' ? except : except?.ref,
    );
  }

  /**
   * Ends every session created before `date`, whoever it belongs to (after a breach, say): resolves to how many.
   * Server-side sessions are removed from the store, each under its lock, reading the whole session namespace a few
   * records at a time: a maintenance task (`beaker-ts sessions revoke --all-before DATE`), not a request's work.
   */
  revokeBefore(date: Date): Promise<number> {
    const time = date.getTime();
    if (!Number.isFinite(time)) throw new TypeError('revokeBefore: date must be a valid Date');
    if (this.#server === undefined)
      throw new TypeError(
        'SessionManager.revokeBefore: cookie sessions are kept in their cookies, not in a store',
      );
    return removeStoredBefore(this.#server, time);
  }

  #userSessionsFor(method: string): UserSessions {
    if (this.#userSessions === undefined)
      throw new TypeError(
        `SessionManager.${method}: cookie sessions are kept in their cookies, not in a store`,
      );
    return this.#userSessions;
  }

  /** Removes expired sessions from a back-end that keeps them on disk; resolves to how many. */
  async prune(): Promise<number> {
    if (!this.#openBackend) return 0;
    return (await (await this.#resolveBackend()).prune?.()) ?? 0;
  }

  /** Closes the back-end this manager opened. */
  async close(): Promise<void> {
    if (this.#backend) await (await this.#backend).close();
    this.#backend = undefined;
    this.#opened = undefined;
  }

  /** The back-end, opened once; an attempt that failed is forgotten, so that the next use tries again. */
  #resolveBackend(): Promise<AnyBackend> {
    if (!this.#openBackend) throw new TypeError('cookie sessions have no back-end');
    if (this.#backend) return this.#backend;
    const opening = this.#openBackend();
    this.#backend = opening;
    opening.then(
      (backend) => {
        if (this.#backend === opening) this.#opened = backend;
      },
      () => {
        if (this.#backend === opening) this.#backend = undefined;
      },
    );
    return opening;
  }
}
