/**
 * `CookieRevocations`: what makes a sealed cookie session revocable (`revocation_store`). A cookie session has no
 * record to remove, so revoking one is recording it in a list every process checks when it opens a cookie: one record
 * in the revocation store, holding the time before which every cookie was revoked (`revokeBefore`), and for each user
 * revoked the time before which that user's logins were revoked (`revokeAll`) and the references of single sessions
 * revoked (`revoke`). Each process keeps a copy of the list in memory, read again in the background once per check
 * interval; a load that finds its copy older than the interval waits for a fresh read, so that a revocation is
 * enforced everywhere within one interval even when the background read stalls. Entries are dropped once the sessions
 * they refuse have passed `absolute_timeout`; without it they are kept for good.
 * @module
 */
import { cookieSessionRef } from './store-keys.js';
import { SessionStoreError } from './errors.js';
import type { SessionMeta } from './format.js';
import type { SessionRecords } from './session-records.js';

/** The namespace of the revocation list in the revocation store. */
export const REVOCATION_NAMESPACE = 'beaker.session.revocations';
/** The key of the one record holding the list. */
const LIST_KEY = 'cookie-sessions';

/** `revocation_check_interval` when not given, in seconds: the default bound. */
export const DEFAULT_REVOCATION_CHECK_INTERVAL = 10;

/** The revocations of one user's cookie sessions. */
interface UserRevocations {
  /** Sessions bound to the user (`setUser`) before this time, ms since the epoch, are refused. */
  validAfter?: number;
  /** Single sessions refused, by reference, with when each was revoked. */
  refs: Map<string, number>;
}

/** The revocation list, as each process holds it. */
interface RevocationList {
  /** Bumped by every change, so that a read that started before a change of this process cannot undo it. */
  version: number;
  /** Every cookie session issued before this time is refused. */
  before?: number;
  users: Map<string, UserRevocations>;
}

/** The list's JSON: `b` before, `u` users (`a` valid after, `r` refs with their revocation times). */
interface RevocationListJson {
  f: 1;
  v: number;
  b?: number;
  u: Record<string, { a?: number; r?: Record<string, number> }>;
}

/** The list of a store that holds none: nothing revoked. */
function emptyList(): RevocationList {
  return { version: 0, users: new Map() };
}

/** Decodes the stored list; undefined (nothing stored) is the empty list, anything unreadable throws. */
function decodeList(text: unknown): RevocationList {
  if (text === undefined || text === null) return emptyList();
  if (typeof text !== 'string') throw new TypeError('the revocation list is not text');
  const json = JSON.parse(text) as Partial<RevocationListJson> | null;
  if (json?.f !== 1 || typeof json.v !== 'number' || typeof json.u !== 'object' || json.u === null)
    throw new TypeError('not a beaker-ts revocation list');
  const list: RevocationList = { version: json.v, users: new Map() };
  if (typeof json.b === 'number') list.before = json.b;
  for (const [user, value] of Object.entries(json.u)) {
    const revoked: UserRevocations = { refs: new Map(Object.entries(value.r ?? {})) };
    if (typeof value.a === 'number') revoked.validAfter = value.a;
    list.users.set(user, revoked);
  }
  return list;
}

/** The list as the store keeps it (see {@link RevocationListJson}). */
function encodeList(list: RevocationList): string {
  const json: RevocationListJson = { f: 1, v: list.version, u: {} };
  if (list.before !== undefined) json.b = list.before;
  for (const [user, { validAfter, refs }] of list.users) {
    const value: RevocationListJson['u'][string] = {};
    if (validAfter !== undefined) value.a = validAfter;
    if (refs.size > 0) value.r = Object.fromEntries(refs);
    json.u[user] = value;
  }
  return JSON.stringify(json);
}

/** When a cookie session counts as issued: when it was bound to its user (a login), else when it was created. */
function issuedAt(meta: Pick<SessionMeta, 'created' | 'userSince'>): number {
  return meta.userSince ?? meta.created;
}

/** What {@link CookieRevocations} is made of. */
export interface CookieRevocationsOptions {
  /** The revocation store (`revocation_store`), its failures turned into {@link SessionStoreError}s. */
  records: SessionRecords;
  clock: () => number;
  /** `revocation_check_interval`, in ms: the bound. */
  intervalMs: number;
  /** `absolute_timeout` in ms, the longest life of a session: how long an entry can matter. Null: for good. */
  lifetimeMs: number | null;
}

/** The revocation list of one manager's cookie sessions: checked on load, changed by the manager's revocations. */
export class CookieRevocations {
  readonly #options: CookieRevocationsOptions;
  #list: RevocationList = emptyList();
  /** When the read that gave {@link #list} started; undefined before the first read. */
  #readAt: number | undefined;
  #reading: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: CookieRevocationsOptions) {
    this.#options = options;
  }

  /** Is the copy in memory recent enough at `now` to decide a load without the store? */
  isFresh(now: number): boolean {
    return this.#readAt !== undefined && now - this.#readAt < this.#options.intervalMs;
  }

  /** Why the cookie session with `meta` is refused, or undefined when it is not (by the copy in memory). */
  refusal(meta: SessionMeta): string | undefined {
    const issued = issuedAt(meta);
    const { before, users } = this.#list;
    if (before !== undefined && issued < before) return 'every cookie session issued before it was revoked';
    if (meta.user === undefined) return undefined;
    const revoked = users.get(meta.user);
    if (revoked === undefined) return undefined;
    if (revoked.validAfter !== undefined && issued < revoked.validAfter)
      return "its user's sessions were revoked after it was issued";
    // The reference costs two digests: computed only for a user with single sessions revoked.
    if (revoked.refs.size > 0 && revoked.refs.has(cookieSessionRef(meta.id))) return 'it was revoked';
    return undefined;
  }

  /**
   * Reads the list from the store (one read at a time, shared by the loads waiting for it), and schedules the next
   * background read. Rejects with a {@link SessionStoreError} when the store fails or holds an unreadable list.
   */
  refresh(): Promise<void> {
    this.#reading ??= this.#read().finally(() => {
      this.#reading = undefined;
      this.#scheduleRefresh();
    });
    return this.#reading;
  }

  /** Refuses `user`'s cookie sessions bound to the user before `at` (ms since the epoch). */
  revokeUser(user: string, at: number): Promise<void> {
    return this.#change((list) => {
      const revoked = userRevocations(list, user);
      revoked.validAfter = Math.max(revoked.validAfter ?? at, at);
    });
  }

  /** Refuses the cookie session `ref` of `user`. */
  revokeSession(user: string, ref: string, at: number): Promise<void> {
    return this.#change((list) => {
      userRevocations(list, user).refs.set(ref, at);
    });
  }

  /** Refuses every cookie session issued before `before` (ms since the epoch). */
  revokeBefore(before: number): Promise<void> {
    return this.#change((list) => {
      list.before = Math.max(list.before ?? before, before);
    });
  }

  /** Stops the background reads. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #read(): Promise<void> {
    const startedAt = this.#options.clock();
    const list = await this.#readStored();
    this.#adopt(list, startedAt);
  }

  async #readStored(): Promise<RevocationList> {
    const records = this.#options.records;
    const text = await records.run('read the revocation list', (backend) =>
      backend.get(REVOCATION_NAMESPACE, LIST_KEY),
    );
    try {
      return decodeList(text);
    } catch (error) {
      // An unreadable list must not accept what it may refuse: it fails as the store would.
      throw records.failure('read the revocation list', error);
    }
  }

  /** Keeps `list` (read at `readAt`) unless this process already holds a later version. */
  #adopt(list: RevocationList, readAt: number): void {
    if (list.version >= this.#list.version) this.#list = list;
    this.#readAt = Math.max(this.#readAt ?? readAt, readAt);
  }

  /** The next background read, one interval from now; unref'd, so that it never keeps a process alive. */
  #scheduleRefresh(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // A failure was reported as a store-error; the next load that finds the copy stale tries again.
      this.refresh().catch(() => undefined);
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  /**
   * Changes the list under its lock (shared by every process on the store), so that two revocations at once both
   * stay, dropping the entries that can no longer refuse a live session. This process enforces the change at once.
   */
  async #change(change: (list: RevocationList) => void): Promise<void> {
    const { records, clock } = this.#options;
    const lock = await records.acquire(REVOCATION_NAMESPACE, LIST_KEY);
    if (!lock) throw new SessionStoreError('lock the revocation list');
    try {
      const startedAt = clock();
      const list = await this.#readStored();
      change(list);
      this.#dropSettled(list, startedAt);
      list.version += 1;
      await records.run('write the revocation list', (backend) =>
        backend.set(REVOCATION_NAMESPACE, LIST_KEY, encodeList(list), {}),
      );
      this.#adopt(list, startedAt);
    } finally {
      await lock.release();
    }
  }

  /**
   * Drops the entries every session they refuse has outlived (`absolute_timeout` after the entry: such a session was
   * issued, so created, before it), and the user entries `before` covers.
   */
  #dropSettled(list: RevocationList, now: number): void {
    const { lifetimeMs } = this.#options;
    const settled = (at: number): boolean => lifetimeMs !== null && at + lifetimeMs < now;
    if (list.before !== undefined && settled(list.before)) delete list.before;
    for (const [user, revoked] of list.users) {
      const { validAfter } = revoked;
      if (validAfter !== undefined && (settled(validAfter) || validAfter <= (list.before ?? -Infinity)))
        delete revoked.validAfter;
      for (const [ref, at] of revoked.refs) if (settled(at)) revoked.refs.delete(ref);
      if (revoked.validAfter === undefined && revoked.refs.size === 0) list.users.delete(user);
    }
  }
}

/** The entry of `user` in `list`, added empty if there is none. */
function userRevocations(list: RevocationList, user: string): UserRevocations {
  let revoked = list.users.get(user);
  if (revoked === undefined) {
    revoked = { refs: new Map() };
    list.users.set(user, revoked);
  }
  return revoked;
}
