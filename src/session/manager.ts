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
import { CookieRevocations } from './cookie-revocations.js';
import { CookieSession } from './cookie-session.js';
import type { AppSessionData } from './data.js';
import { SessionStoreError } from './errors.js';
import {
  backendOpener,
  checkedSessionKeys,
  cookieSessionSettings,
  idsAtRest,
  maxSessionBytes,
  resolveManagerOptions,
  type ResolvedManagerOptions,
  revocationStoreDescriptor,
  revocationTimes,
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
  readonly #clock: () => number;
  /**
   * Opens the manager's store: the back-end of server-side sessions, or the revocation store of cookie sessions;
   * undefined for cookie sessions without `revocation_store`, which have no store.
   */
  readonly #openBackend: (() => Promise<AnyBackend>) | undefined;
  #backend: Promise<AnyBackend> | undefined;
  /** What {@link #backend} resolved to, once it has. */
  #opened: AnyBackend | undefined;
  /** The sessions of each user; undefined for cookie sessions, which have no store to list them from. */
  readonly #userSessions: UserSessions | undefined;
  /** The settings of server-side sessions; undefined for cookie sessions. */
  readonly #server: ServerSessionSettings | undefined;
  /** The revocation list of cookie sessions (`revocation_store`); undefined for server-side sessions and without it. */
  readonly #revocations: CookieRevocations | undefined;

  constructor(options: SessionManagerOptions = {}) {
    const resolved = resolveManagerOptions(options);
    this.options = resolved.session;
    this.#report = resolved.report;
    const keys = checkedSessionKeys(resolved.session, resolved.type);
    const shared = sharedSessionSettings(resolved);
    this.#clock = resolved.clock;
    if (resolved.type === 'cookie') {
      const revocationStore = revocationStoreDescriptor(resolved);
      if (revocationStore !== undefined) {
        this.#openBackend = backendOpener(resolved, revocationStore);
        this.#revocations = new CookieRevocations({
          records: this.#storeRecords(resolved, revocationStore),
          clock: resolved.clock,
          ...revocationTimes(resolved.session),
        });
      }
      this.#sessions = sessionMaker(CookieSession, cookieSessionSettings(shared, keys, this.#revocations));
    } else {
      const descriptor = sessionBackendDescriptor(resolved);
      this.#openBackend = backendOpener(resolved, descriptor);
      const settings = serverSessionSettings(
        shared,
        keys,
        this.#storeRecords(resolved, descriptor),
        maxSessionBytes(resolved.session),
        idsAtRest(resolved.session),
      );
      this.#userSessions = userSessionsOf(settings);
      this.#server = settings;
      this.#sessions = sessionMaker(ServerSession, settings);
    }
  }

  /** The operations and record locks of the manager's store, described by `descriptor`. */
  #storeRecords(resolved: ResolvedManagerOptions, descriptor: BackendDescriptor): SessionRecords {
    return new SessionRecords({
      backend: () => this.#resolveBackend(),
      openedBackend: () => this.#opened,
      locks: sessionLocks(descriptor, resolved.session.lock_dir),
      report: resolved.report,
    });
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
      // Cookie sessions with revocation: the first requests need not wait for the revocation list.
      await this.#revocations?.refresh();
    } catch (error) {
      if (isConfigurationError(error)) throw error;
      // Already reported, by the store operation that failed.
      if (error instanceof SessionStoreError) return;
      this.#report({
        type: 'store-error',
        message: `the session store cannot be reached at start-up: ${redactCredentials(error instanceof Error ? error.message : String(error))}`,
        error,
      });
    }
  }

  /**
   * The live sessions of `user` (bound with `session.setUser`), the most recently used first: references, times and
   * the info kept with them, never their ids. Sessions that expired or were removed are not listed. Server-side
   * sessions only: cookie sessions are in no store to list them from (a TypeError).
   *
   * @example
   * const mine = await sessions.sessionsOf(user);
   * const others = mine.filter(({ ref }) => ref !== req.session.ref);
   */
  sessionsOf(user: string): Promise<UserSessionInfo[]> {
    return this.#userSessionsFor('sessionsOf').list(user);
  }

  /**
   * Ends the session `ref` of `user` (a reference from {@link sessionsOf}, or `session.ref`): its record is removed,
   * so its cookie no longer works on any process, and a request of it in flight cannot save it back. Resolves to false
   * when `user` has no such session (another user's reference ends nothing).
   *
   * Cookie sessions (with `revocation_store`): the session's cookie is refused by every process within
   * `revocation_check_interval` seconds, until `absolute_timeout` has passed (for good without it). No store knows
   * whether such a session exists, so this resolves to true once the revocation is recorded.
   */
  revoke(user: string, ref: string): Promise<boolean> {
    const revocations = this.#revocations;
    if (revocations === undefined) return this.#userSessionsFor('revoke').revoke(user, ref);
    return revocations.revokeSession(user, ref, this.#clock()).then(() => true);
  }

  /**
   * Ends every session of `user` ("log out everywhere"), but `except`: a session (or its reference) to keep, the
   * current one for "log out everywhere else". Resolves to how many sessions were ended.
   *
   * Cookie sessions (with `revocation_store`): every cookie session bound to `user` (`setUser`) before now is refused
   * by every process within `revocation_check_interval` seconds. `except` must then be the session itself, not a
   * reference: it is bound again (a new login time) and saved, so that the response carries its new cookie (its
   * older cookies are refused too). No store lists cookie sessions, so this resolves to 0.
   *
   * @example
   * await sessions.revokeAll(user, { except: req.session });
   */
  revokeAll(user: string, options: { except?: Session<object> | string } = {}): Promise<number> {
    const { except } = options;
    if (this.#revocations !== undefined)
      return this.#revokeAllCookieSessions(this.#revocations, user, except);
    return this.#userSessionsFor('revokeAll').revokeAll(
      user,
      typeof except === 'string' ? except : except?.ref,
    );
  }

  /**
   * Ends every session issued before `before`, whoever it belongs to (after a breach, say), and resolves to how
   * many when that can be known. Server-side sessions created before it are removed from the store, each under its
   * lock, reading the whole session namespace a few records at a time: a maintenance task (`beaker-ts sessions
   * revoke --all-before DATE`), not a request's work. Cookie sessions (with `revocation_store`) bound to their user
   * (`setUser`) before it, or bound to none and created before it, are refused by every process within
   * `revocation_check_interval` seconds; no store counts them, so this resolves to undefined. `before` must be a
   * valid Date, not in the future (a TypeError).
   *
   * @example
   * await sessions.revokeBefore(new Date('2030-01-01T00:00:00Z'));
   */
  revokeBefore(before: Date): Promise<number | undefined> {
    const time = before instanceof Date ? before.getTime() : Number.NaN;
    if (Number.isNaN(time)) throw new TypeError('SessionManager.revokeBefore: before must be a valid Date');
    if (time > this.#clock())
      throw new TypeError('SessionManager.revokeBefore: before must not be in the future');
    if (this.#server !== undefined) return removeStoredBefore(this.#server, time);
    return this.#revocationsFor('revokeBefore')
      .revokeBefore(time)
      .then(() => undefined);
  }

  async #revokeAllCookieSessions(
    revocations: CookieRevocations,
    user: string,
    except: Session<object> | string | undefined,
  ): Promise<number> {
    if (typeof except === 'string')
      throw new TypeError(
        'SessionManager.revokeAll: for cookie sessions, except must be the session to keep, not its reference',
      );
    // Loaded before the revocation, which would refuse it.
    const kept = except === undefined ? undefined : await except.load();
    await revocations.revokeUser(user, this.#clock());
    if (kept?.user === user) await bindAgain(kept, user);
    return 0;
  }

  #userSessionsFor(method: string): UserSessions {
    if (this.#userSessions === undefined)
      throw new TypeError(
        `SessionManager.${method}: cookie sessions are kept in their cookies, not in a store` +
          (method === 'sessionsOf' ? '' : '; set revocation_store to revoke them'),
      );
    return this.#userSessions;
  }

  #revocationsFor(method: string): CookieRevocations {
    if (this.#revocations === undefined)
      throw new TypeError(
        `SessionManager.${method}: cookie sessions are kept in their cookies, not in a store; set revocation_store to revoke them`,
      );
    return this.#revocations;
  }

  /** Removes expired sessions from a back-end that keeps them on disk; resolves to how many. */
  async prune(): Promise<number> {
    if (!this.#openBackend) return 0;
    return (await (await this.#resolveBackend()).prune?.()) ?? 0;
  }

  /** Closes the back-end this manager opened, and stops the background reads of the revocation list. */
  async close(): Promise<void> {
    this.#revocations?.close();
    if (this.#backend) await (await this.#backend).close();
    this.#backend = undefined;
    this.#opened = undefined;
  }

  /** The back-end, opened once; an attempt that failed is forgotten, so that the next use tries again. */
  #resolveBackend(): Promise<AnyBackend> {
    if (!this.#openBackend) throw new TypeError('cookie sessions without revocation_store have no back-end');
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

/**
 * Keeps `session` (loaded, of `user`) through a revocation of the user's sessions made now: binds it again (its login
 * time is now, not before the revocation) and saves it, so that its new cookie goes out with the response.
 */
async function bindAgain(session: Session<object>, user: string): Promise<void> {
  const info = session.userInfo;
  await session.setUser(user, info === undefined ? undefined : { ...info });
  await session.save();
}
