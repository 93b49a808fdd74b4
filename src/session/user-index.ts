/**
 * The per-user session index: for each user an application bound sessions to (`session.setUser`), one record in the
 * session store listing those sessions by reference, with what is needed to end them. It is written when a session
 * is first stored under an id with a user (a login, a regeneration), when its user changes, when it is removed, and
 * to keep its expiry ahead of the session's (at most once per half a store TTL): never by a read-only request.
 * Listing reads each session's own record, so a session that expired, was pruned or removed never shows; such
 * entries are dropped from the index as they are found.
 * @module
 */
import { roundedTtlMs } from '../backends/contract.js';
import { forEachBounded } from '../backends/kit/bounded.js';
import { hashedSessionKey } from './store-keys.js';
import type { SessionRecords } from './session-records.js';
import { SessionStoreError } from './errors.js';
import type { SessionMeta, SessionUserInfo } from './format.js';

/** At most this many sessions of one user are read or removed at a time. */
const LIST_CONCURRENCY = 8;

/** The namespace of the index records, next to the sessions' own. */
export const USER_INDEX_NAMESPACE = 'beaker.session.users';

/** One session of a user, as the index keeps it. */
export interface UserIndexEntry {
  /** The store key of the session's record. */
  key: string;
  /** When the session was created, ms since the epoch. */
  created: number;
  /**
   * Until when the index keeps the entry, or null: for good. A session rewrites its entry whenever less than a store
   * TTL of it is left (see `indexedUntil`), so the entry always outlives the session's record.
   */
  until: number | null;
  info?: SessionUserInfo;
}

/** The index record's JSON. */
interface IndexJson {
  f: 1;
  s: Record<string, { k: string; c: number; x?: number; i?: SessionUserInfo }>;
}

/** The key of `user`'s index record: a digest, so that any user id fits any store's keys. */
export function userIndexKey(user: string): string {
  return hashedSessionKey(`user:${user}`);
}

function decodeIndex(text: unknown): Map<string, UserIndexEntry> {
  const entries = new Map<string, UserIndexEntry>();
  if (typeof text !== 'string') return entries;
  let json: Partial<IndexJson> | null;
  try {
    json = JSON.parse(text) as Partial<IndexJson> | null;
  } catch {
    return entries;
  }
  if (json?.f !== 1 || typeof json.s !== 'object' || json.s === null) return entries;
  for (const [ref, value] of Object.entries(json.s)) {
    if (typeof value.k !== 'string' || typeof value.c !== 'number') continue;
    const entry: UserIndexEntry = { key: value.k, created: value.c, until: value.x ?? null };
    if (typeof value.i === 'object' && value.i !== null) entry.info = value.i;
    entries.set(ref, entry);
  }
  return entries;
}

function encodeIndex(entries: ReadonlyMap<string, UserIndexEntry>): string {
  const json: IndexJson = { f: 1, s: {} };
  for (const [ref, { key, created, until, info }] of entries) {
    const value: IndexJson['s'][string] = { k: key, c: created };
    if (until !== null) value.x = until;
    if (info !== undefined) value.i = info;
    json.s[ref] = value;
  }
  return JSON.stringify(json);
}

/** The index of the sessions of each user, kept in a manager's session store. */
export class UserIndex {
  readonly #records: SessionRecords;
  readonly #clock: () => number;

  constructor(records: SessionRecords, clock: () => number) {
    this.#records = records;
    this.#clock = clock;
  }

  /** The sessions the index holds for `user`, by reference (entries past their `until` left out). */
  async entries(user: string): Promise<Map<string, UserIndexEntry>> {
    const key = userIndexKey(user);
    const text = await this.#records.run('read the user index', (backend) =>
      backend.get(USER_INDEX_NAMESPACE, key),
    );
    return this.#live(decodeIndex(text));
  }

  /** Adds (or refreshes) the session `ref` of `user`. */
  add(user: string, ref: string, entry: UserIndexEntry): Promise<void> {
    return this.#update(user, (entries) => entries.set(ref, entry));
  }

  /** Removes the sessions `refs` of `user`. */
  remove(user: string, refs: Iterable<string>): Promise<void> {
    return this.#update(user, (entries) => {
      for (const ref of refs) entries.delete(ref);
    });
  }

  /**
   * Changes `user`'s index under its lock (shared by every process on the store), so that two logins at once both
   * stay listed. An index that cannot be locked fails the change: an unlisted session would escape `revokeAll`.
   */
  async #update(user: string, change: (entries: Map<string, UserIndexEntry>) => void): Promise<void> {
    const key = userIndexKey(user);
    const lock = await this.#records.acquire(USER_INDEX_NAMESPACE, key);
    if (!lock) throw new SessionStoreError('lock the user index');
    try {
      const text = await this.#records.run('read the user index', (backend) =>
        backend.get(USER_INDEX_NAMESPACE, key),
      );
      const entries = this.#live(decodeIndex(text));
      change(entries);
      await this.#records.run('write the user index', async (backend) => {
        if (entries.size === 0) {
          await backend.delete(USER_INDEX_NAMESPACE, key);
          return;
        }
        const ttlMs = this.#ttlMs(entries);
        return backend.set(
          USER_INDEX_NAMESPACE,
          key,
          encodeIndex(entries),
          ttlMs === undefined ? {} : { ttlMs: roundedTtlMs(ttlMs, backend.capabilities) },
        );
      });
    } finally {
      await lock.release();
    }
  }

  /** `entries` without those past their `until`. */
  #live(entries: Map<string, UserIndexEntry>): Map<string, UserIndexEntry> {
    const now = this.#clock();
    for (const [ref, { until }] of entries) if (until !== null && until < now) entries.delete(ref);
    return entries;
  }

  /** How long the store keeps the index: as long as its longest-lived entry, or for good if one has no end. */
  #ttlMs(entries: ReadonlyMap<string, UserIndexEntry>): number | undefined {
    let last = 0;
    for (const { until } of entries.values()) {
      if (until === null) return undefined;
      last = Math.max(last, until);
    }
    return Math.max(1000, last - this.#clock());
  }
}

/** One session of a user, as {@link SessionManager.sessionsOf} lists it: never its id. */
export interface UserSessionInfo {
  /** The session's reference: what `revoke` takes, and what `session.ref` is for the session of a request. */
  ref: string;
  /** The start of `ref`, to show. */
  hint: string;
  created: Date;
  /** The last access the store recorded (written at most once per `touch_interval`). */
  lastAccessed: Date;
  /** What the application kept with `setUser(user, info)`. */
  info: Readonly<SessionUserInfo> | undefined;
}

/** Reads the record of a listed session: its meta, or undefined when it is gone, unreadable or expired. */
export type ReadListedSession = (key: string) => Promise<SessionMeta | undefined>;

/** What ends one session: removes its record under its lock; true when there was one. */
export type RemoveSession = (key: string) => Promise<boolean>;

/**
 * The sessions of one user, as the manager lists and ends them: from the index, each checked against its own record
 * (a session that expired or was pruned is not listed, and its entry is dropped).
 */
export class UserSessions {
  readonly #index: UserIndex;
  readonly #read: ReadListedSession;
  readonly #remove: RemoveSession;

  constructor(index: UserIndex, read: ReadListedSession, remove: RemoveSession) {
    this.#index = index;
    this.#read = read;
    this.#remove = remove;
  }

  /** `user`'s live sessions, the most recently used first. */
  async list(user: string): Promise<UserSessionInfo[]> {
    const entries = await this.#index.entries(user);
    const listed: UserSessionInfo[] = [];
    const gone: string[] = [];
    await forEachBounded(entries, LIST_CONCURRENCY, async ([ref, entry]) => {
      const meta = await this.#read(entry.key);
      if (meta === undefined || meta.user !== user) {
        gone.push(ref);
        return;
      }
      listed.push({
        ref,
        hint: ref.slice(0, 8),
        created: new Date(meta.created),
        lastAccessed: new Date(meta.accessed),
        info: meta.userInfo,
      });
    });
    if (gone.length > 0) await this.#index.remove(user, gone);
    return listed.sort((a, b) => b.lastAccessed.getTime() - a.lastAccessed.getTime());
  }

  /** Ends the session `ref` of `user`; false when `user` has no such session. */
  async revoke(user: string, ref: string): Promise<boolean> {
    const entry = (await this.#index.entries(user)).get(ref);
    if (entry === undefined) return false;
    const removed = await this.#remove(entry.key);
    await this.#index.remove(user, [ref]);
    return removed;
  }

  /**
   * Ends every session of `user` but `except` (a reference); resolves to how many were ended. Each record is removed
   * under its own lock, so that a request in flight on one of them cannot save it back.
   */
  async revokeAll(user: string, except: string | undefined): Promise<number> {
    const entries = await this.#index.entries(user);
    const ended: string[] = [];
    let count = 0;
    await forEachBounded(entries, LIST_CONCURRENCY, async ([ref, entry]) => {
      if (ref === except) return;
      if (await this.#remove(entry.key)) count += 1;
      ended.push(ref);
    });
    if (ended.length > 0) await this.#index.remove(user, ended);
    return count;
  }
}
