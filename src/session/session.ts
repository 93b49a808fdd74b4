/**
 * `Session`: one request's session, lazy. Nothing is read until the session is used. What both kinds of session
 * share lives here: the data and this request's changes to it, the session's meta, expiry, when a save or a cookie is
 * due, and the cookie's attributes. Where the session is kept is up to its kind: {@link ServerSession} (a back-end,
 * the cookie holding the signed id) or {@link CookieSession} (the sealed cookie itself).
 * @module
 */
import type { BeakerError } from '../shared/errors.js';
import type { AppSessionData } from './data.js';
import { cookieValues, deletionCookieHeader, type CookieAttributes } from './cookies.js';
import { SessionCorruptError, SessionNotLoadedError, SessionStoreError } from './errors.js';
import type { DataRecord, SessionMeta, SessionUserInfo } from './format.js';
import type { SessionSettings } from './settings.js';
import { TrackedData } from './tracked-data.js';

export type { SessionEvent } from './settings.js';

/** Beaker's "never": 2038-01-19T03:14:07Z. */
const NEVER = new Date(0x7fffffff * 1000);
/** The longest user id `setUser` takes, in characters. */
const MAX_USER_LENGTH = 256;
/** The most `setUser` keeps about a session, in characters of its JSON. */
const MAX_USER_INFO_LENGTH = 1024;

/** `info` as `setUser` keeps it: a copy of a few short values, checked. */
function checkedUserInfo(info: SessionUserInfo): SessionUserInfo {
  const copy: SessionUserInfo = {};
  for (const [name, value] of Object.entries(info)) {
    if (value !== null && !['string', 'number', 'boolean'].includes(typeof value))
      throw new TypeError(`setUser: info.${name} must be a string, a number, a boolean or null`);
    copy[name] = value;
  }
  if (JSON.stringify(copy).length > MAX_USER_INFO_LENGTH)
    throw new TypeError(`setUser: info must be at most ${MAX_USER_INFO_LENGTH} characters as JSON`);
  return copy;
}

/** A settled load or persist: shared, as a resolved promise cannot be changed. */
const DONE: Promise<void> = Promise.resolve();

/** A promise rejected with what a synchronous step threw, as an async function would give it. */
// eslint-disable-next-line @typescript-eslint/require-await -- the rejection of an async function is the point
async function rejected(error: unknown): Promise<never> {
  throw error;
}

/**
 * For the adapters (not exported by the package): {@link Session.persist}, or undefined when it finished at once,
 * nothing being due (no write, no lock to release), so that a read-only request ends without waiting a turn.
 */
export let persistNow: (session: Session<object>) => Promise<void> | undefined;

/**
 * The session of one request. `T` types its data. {@link SessionManager.session} gives the kind the configuration
 * asks for; every kind has this interface.
 */
export abstract class Session<T extends object = AppSessionData> {
  static {
    persistNow = (session) => session.#persistNow();
  }

  readonly #settings: SessionSettings;
  readonly #cookieHeader: string | undefined;
  #loading: Promise<void> | undefined;
  #loaded = false;
  #deleted = false;
  #meta!: SessionMeta;
  #isNew = true;
  #lastAccessed: number | null = null;
  #unsaved = false;
  #saveRequested = false;
  #sendCookie = false;
  #sendDeletion = false;
  #userSet = false;
  /** The data and this request's changes to it. */
  protected readonly trackedData = new TrackedData();

  protected constructor(settings: SessionSettings, cookieHeader: string | undefined) {
    this.#settings = settings;
    this.#cookieHeader = cookieHeader;
  }

  /** Was the session used (loaded) in this request? */
  get accessed(): boolean {
    return this.#loaded;
  }

  /** Has anything asked for the session yet (a load started)? An unused session needs no work at the end. */
  get used(): boolean {
    return this.#loading !== undefined;
  }

  /** The session id. */
  get id(): string {
    return this.#loadedMeta().id;
  }

  /** True until the session has been stored (or, for cookie sessions, came from a cookie). */
  get isNew(): boolean {
    this.#loadedMeta();
    return this.#isNew;
  }

  /** When the session was created. */
  get created(): Date {
    return new Date(this.#loadedMeta().created);
  }

  /** The access time recorded before this request, or null for a new session. */
  get lastAccessed(): Date | null {
    this.#loadedMeta();
    return this.#lastAccessed === null ? null : new Date(this.#lastAccessed);
  }

  /** The user the session is bound to by {@link setUser}, or undefined. */
  get user(): string | undefined {
    return this.#loadedMeta().user;
  }

  /** What {@link setUser} kept about the session with its user, or undefined. */
  get userInfo(): Readonly<SessionUserInfo> | undefined {
    return this.#loadedMeta().userInfo;
  }

  /**
   * This session's reference: how `SessionManager.sessionsOf` lists it and `revoke` takes it (compare it to tell
   * "this browser" in a list). A digest, safe to show in a page: it is no use as a cookie.
   */
  get ref(): string {
    this.#loadedMeta();
    return this.currentRef();
  }

  /** The data, once loaded (read-only view; change it with `set`, `unset` and `clear`). */
  get data(): Readonly<Partial<T>> {
    this.#loadedMeta();
    return this.trackedData.current as Partial<T>;
  }

  /** Reads the session (once): from the store, or from the cookie. */
  load(): Promise<this> {
    const pending = this.#startLoad();
    return pending === undefined ? Promise.resolve(this) : pending.then(() => this);
  }

  /** The value stored under `key`, or undefined. */
  get<K extends keyof T & string>(key: K): Promise<T[K] | undefined> {
    const pending = this.#startLoad();
    if (pending === undefined) return Promise.resolve(this.trackedData.value(key) as T[K] | undefined);
    return pending.then(() => this.trackedData.value(key) as T[K] | undefined);
  }

  /** Whether the session holds `key`. */
  async has(key: keyof T & string): Promise<boolean> {
    await this.#startLoad();
    return this.trackedData.has(key);
  }

  /** A copy of all the data. */
  async all(): Promise<Partial<T>> {
    await this.#startLoad();
    return this.trackedData.copy() as Partial<T>;
  }

  /** Stores `value` under `key` (saved at the end of the request, or by {@link save}). */
  set<K extends keyof T & string>(key: K, value: T[K]): Promise<void> {
    const pending = this.#startLoad();
    if (pending === undefined) {
      this.trackedData.set(key, value);
      this.#unsaved = true;
      return DONE;
    }
    return pending.then(() => {
      this.trackedData.set(key, value);
      this.#unsaved = true;
    });
  }

  /** Removes `key`. */
  async unset(key: keyof T & string): Promise<void> {
    await this.#startLoad();
    this.trackedData.unset(key);
    this.#unsaved = true;
  }

  /** Removes every key. */
  async clear(): Promise<void> {
    await this.#startLoad();
    this.trackedData.clear();
    this.#unsaved = true;
  }

  /** Sets the cookie domain for this session; it sticks to the session once saved. */
  async setDomain(domain: string | undefined): Promise<void> {
    await this.#startLoad();
    if (domain === undefined) delete this.#meta.domain;
    else this.#meta.domain = domain;
    this.markForSave();
  }

  /** Sets the cookie path for this session; it sticks to the session once saved. */
  async setPath(path: string | undefined): Promise<void> {
    await this.#startLoad();
    if (path === undefined) delete this.#meta.path;
    else this.#meta.path = path;
    this.markForSave();
  }

  /** Stores the session now (and again at the end of the request if it changes after this). */
  async save(): Promise<void> {
    await this.#startLoad();
    if (this.#deleted) return;
    this.#saveRequested = true;
    await this.#write();
  }

  /** Restores the data as it was loaded, dropping this request's changes. */
  async revert(): Promise<void> {
    await this.#startLoad();
    this.trackedData.revert();
    this.#unsaved = false;
  }

  /** Deletes the session from the store and tells the browser to drop its cookie. */
  async delete(): Promise<void> {
    await this.#startLoad();
    await this.removeStored();
    this.trackedData.discard();
    this.#deleted = true;
    this.#sendDeletion = this.#settings.useCookies;
  }

  /** Replaces the session by an empty one with a new id; the old record is removed. */
  async invalidate(): Promise<void> {
    await this.#startLoad();
    await this.removeStored();
    this.startNew();
  }

  /** Gives the session a new id, keeping its data (do this on login); the old record is removed. */
  async regenerateId(): Promise<void> {
    await this.#startLoad();
    await this.removeStored();
    this.#meta.id = this.#settings.newId();
    this.trackedData.rewriteAll();
    this.markForSave();
  }

  /**
   * Binds the session to `user` (call it on login, after {@link regenerateId}), so that
   * `SessionManager.sessionsOf(user)` lists it and `revokeAll(user)` can end it. `info` is what the list shows
   * about it besides its times: a few short values the application chooses (a user agent, where it logged in from),
   * at most 1 KB as JSON. The session is saved at the end of the request.
   *
   * @example
   * await session.regenerateId();
   * await session.setUser(account.id, { agent: request.headers['user-agent'] ?? 'unknown' });
   */
  async setUser(user: string, info?: SessionUserInfo): Promise<void> {
    if (typeof user !== 'string' || user.length === 0 || user.length > MAX_USER_LENGTH)
      throw new TypeError(`setUser: user must be a string of 1 to ${MAX_USER_LENGTH} characters`);
    const kept = info === undefined ? undefined : checkedUserInfo(info);
    await this.#startLoad();
    const meta = this.#meta;
    meta.user = user;
    if (kept === undefined) delete meta.userInfo;
    else meta.userInfo = kept;
    meta.userSince = this.#settings.clock();
    delete meta.indexedUntil;
    this.#userSet = true;
    this.markForSave();
  }

  /** Takes this session's lock until {@link unlock}: other requests' saves of this session wait. */
  abstract lock(): Promise<void>;

  /** Releases the lock taken by {@link lock}, if any. */
  unlock(): Promise<void> {
    try {
      return this.releaseLock() ?? DONE;
    } catch (error) {
      return rejected(error);
    }
  }

  /**
   * The end of the request (adapters call it before the headers go out): saves what must be saved (`save()` called,
   * or `auto`), records the access time when `timeout` needs it, refreshes a sliding cookie. An unused session costs
   * nothing.
   */
  persist(): Promise<void> {
    return this.#persistNow() ?? DONE;
  }

  /** The Set-Cookie header values to send with the response (empty when the cookie need not change). */
  setCookieHeaders(): string[] {
    if (!this.#settings.useCookies || !this.#loaded || !(this.#sendDeletion || this.#sendCookie)) return [];
    const attributes = this.cookieAttributes();
    if (this.#sendDeletion) return [deletionCookieHeader(this.#settings.cookieName, attributes)];
    const header = this.cookieToSend(attributes);
    return header === undefined ? [] : [header];
  }

  // ---- what each kind of session does its own way ---------------------------------------------------------------

  /**
   * Reads the session of this request (adopting it, or starting a new one): at once when it can (a cookie, a store
   * in this process that has `peek`), returning nothing, or else through the promise it returns.
   */
  protected abstract read(): Promise<void> | void;

  /**
   * Releases the lock taken by {@link lock}: undefined when none was held (nothing to wait for), or the release.
   * {@link unlock} is this, as a promise.
   */
  protected abstract releaseLock(): Promise<void> | undefined;

  /**
   * Keeps the session (its meta is up to date): stores it, or seals it into the cookie. Resolves to false when there
   * is nothing left to keep it in, the session having ended (see {@link endWithoutCookie}).
   */
  protected abstract keep(): Promise<boolean>;

  /** {@link ref}, the session being loaded. */
  protected abstract currentRef(): string;

  /** Removes what keeps the session, if anything does. */
  protected abstract removeStored(): Promise<void>;

  /** Is the session kept somewhere already (stored, or sealed into the cookie)? */
  protected abstract isStoredOrSent(): boolean;

  /** The Set-Cookie header that carries this session, or undefined for none. */
  protected abstract cookieToSend(attributes: CookieAttributes): string | undefined;

  // ---- the shared core, for the kinds of session ----------------------------------------------------------------

  /** The session's meta, once loaded. */
  protected get meta(): SessionMeta {
    return this.#meta;
  }

  /** Did this request call {@link setUser}? (Else a save keeps the user binding it finds stored.) */
  protected get userSetInRequest(): boolean {
    return this.#userSet;
  }

  /** The values of the session cookie in this request's Cookie header. */
  protected requestCookieValues(): string[] {
    return cookieValues(this.#cookieHeader, this.#settings.cookieName);
  }

  /**
   * Takes a session read from the store or the cookie as this request's session. `meta` and `data` are fresh
   * objects (just decoded), which the session keeps as they are.
   */
  protected adopt(meta: SessionMeta, data: DataRecord, now: number): void {
    this.#lastAccessed = meta.accessed;
    meta.accessed = now;
    this.#meta = meta;
    this.trackedData.adopt(data);
    this.#isNew = false;
  }

  /** Starts an empty session with a new id (or the forced one). */
  protected startNew(): void {
    const now = this.#settings.clock();
    this.#meta = { id: this.#settings.forcedId ?? this.#settings.newId(), created: now, accessed: now };
    this.trackedData.clear();
    this.#isNew = true;
    this.#lastAccessed = null;
  }

  /** Has the session idled or lived past its timeouts? */
  protected expired(meta: Pick<SessionMeta, 'created' | 'accessed' | 'cookieExpires'>, now: number): boolean {
    return sessionExpired(this.#settings, meta, now);
  }

  /** A session that cannot be read: a new one replaces it (reported), or, with `invalidate_corrupt = false`, it fails. */
  protected corrupt(message: string, error: unknown): void {
    if (!this.#settings.invalidateCorrupt) {
      throw new SessionCorruptError(`${message}: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
    this.reportReplaced(message, error);
  }

  /** Reports a session that could not be read and is replaced by a new one. */
  protected reportReplaced(message: string, error: unknown): void {
    this.#settings.report({
      type: 'corrupt-session',
      message: `${message}; a new session replaces it`,
      error,
    });
  }

  /** The session must be saved at the end of the request even if its data did not change. */
  protected markForSave(): void {
    this.#unsaved = true;
    this.#saveRequested = true;
  }

  /** The cookie is sent again as it is (re-signed with the current secret). */
  protected resendCookie(): void {
    this.#sendCookie = true;
  }

  /** The session is stored: it is no longer new. */
  protected markStored(): void {
    this.#isNew = false;
  }

  /**
   * The session ends in this request without a trace: its data and changes are dropped, and no cookie is sent, not
   * even a deletion (the browser may already hold the cookie of the session that replaced it).
   */
  protected endWithoutCookie(): void {
    this.trackedData.discard();
    this.#unsaved = false;
    this.#deleted = true;
    this.#sendCookie = false;
    this.#sendDeletion = false;
  }

  /** The cookie's attributes: the configured ones, with this session's domain and path and the expiry due now. */
  protected cookieAttributes(): CookieAttributes {
    const base = this.#settings.attributes;
    const expiresOption = this.#settings.cookieExpires;
    const attributes: CookieAttributes = {
      ...base,
      domain: this.#meta.domain ?? base.domain ?? null,
      path: this.#meta.path ?? base.path ?? '/',
    };
    if (expiresOption === false) attributes.expires = NEVER;
    else if (expiresOption instanceof Date) attributes.expires = expiresOption;
    else if (typeof expiresOption === 'number') {
      attributes.expires = new Date(
        this.#meta.cookieExpires ?? this.#settings.clock() + expiresOption * 1000,
      );
    }
    return attributes;
  }

  // ---- private ----------------------------------------------------------------------------------------------------

  /**
   * Starts the load if it has not started: undefined once the session is loaded (at once, when {@link read} could
   * read it without waiting), else the load under way (rejected when it failed).
   */
  #startLoad(): Promise<void> | undefined {
    if (this.#loaded) return undefined;
    if (this.#loading !== undefined) return this.#loading;
    let reading: Promise<void> | void;
    try {
      reading = this.read();
    } catch (error) {
      this.#loading = rejected(error);
      return this.#loading;
    }
    if (reading === undefined) {
      this.#loaded = true;
      this.trackedData.takeSnapshot();
      this.#loading = DONE;
      return undefined;
    }
    this.#loading = reading.then(() => {
      this.trackedData.takeSnapshot();
      this.#loaded = true;
    });
    return this.#loading;
  }

  /** {@link persist}; undefined when nothing was due (no write, no lock to release). */
  #persistNow(): Promise<void> | undefined {
    if (!this.#loaded || this.#deleted) return undefined;
    let write: boolean;
    try {
      write = this.#writeDue();
    } catch (error) {
      return this.unlock().then(() => rejected(error));
    }
    if (write) return this.#writeAndUnlock();
    try {
      return this.releaseLock();
    } catch (error) {
      return rejected(error);
    }
  }

  /** Must the end of the request write the session: a save asked for (or `auto`), or access-time bookkeeping? */
  #writeDue(): boolean {
    // `auto` keeps a new session once something is set in it, not one the request only read (unless configured).
    const autoSaves = this.#settings.auto && (!this.#isNew || this.#unsaved || this.#settings.autoSaveEmpty);
    const mustSave = (autoSaves || this.#saveRequested) && (this.#unsaved || !this.isStoredOrSent());
    if (mustSave) return true;
    if (
      this.#isNew ||
      (this.#settings.touchIntervalMs === null && typeof this.#settings.cookieExpires !== 'number')
    )
      return false;
    const now = this.#settings.clock();
    return this.#touchDue(now) || this.#slidingRefreshDue(now);
  }

  async #writeAndUnlock(): Promise<void> {
    try {
      await this.#write();
    } finally {
      await this.unlock();
    }
  }

  #touchDue(now: number): boolean {
    const interval = this.#settings.touchIntervalMs;
    return interval !== null && this.#lastAccessed !== null && now - this.#lastAccessed >= interval;
  }

  #slidingRefreshDue(now: number): boolean {
    const duration = this.#settings.cookieExpires;
    if (typeof duration !== 'number' || !this.#settings.useCookies) return false;
    const expires = this.#meta.cookieExpires;
    return expires === undefined || expires - now < (duration * 1000) / 2;
  }

  async #write(): Promise<void> {
    const now = this.#settings.clock();
    this.#meta.accessed = now;
    if (typeof this.#settings.cookieExpires === 'number')
      this.#meta.cookieExpires = now + this.#settings.cookieExpires * 1000;
    if (!(await this.keep())) return;
    this.trackedData.committed();
    this.#unsaved = false;
    this.#sendCookie = true;
  }

  #loadedMeta(): SessionMeta {
    if (!this.#loaded) throw new SessionNotLoadedError();
    return this.#meta;
  }
}

/** Has a session with `meta` idled or lived past the timeouts of `settings` at `now`? */
export function sessionExpired(
  settings: Pick<SessionSettings, 'timeoutMs' | 'absoluteTimeoutMs'>,
  meta: Pick<SessionMeta, 'created' | 'accessed'>,
  now: number,
): boolean {
  const { timeoutMs, absoluteTimeoutMs } = settings;
  if (timeoutMs !== null && now - meta.accessed > timeoutMs) return true;
  return absoluteTimeoutMs !== null && now - meta.created > absoluteTimeoutMs;
}

/** Errors that mean "the session store failed": adapters answer them with 503. */
export function isSessionStoreError(error: unknown): error is BeakerError {
  return error instanceof SessionStoreError;
}
