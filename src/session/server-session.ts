/**
 * `ServerSession`: a session kept in a back-end, the cookie holding only its signed id. Reading costs one store read,
 * a modification one merged write under the session's lock; an unmodified session is written only for the
 * access-time bookkeeping that `timeout` needs, at most once per `touch_interval`. Ids the store does not know, or
 * whose signature fails, are never adopted: a fresh id is minted.
 * @module
 */
import { roundedTtlMs, type AnyBackend } from '../backends/contract.js';
import { forEachBounded } from '../backends/kit/bounded.js';
import { SessionTooLargeError } from '../shared/errors.js';
import type { LockHandle } from '../locks/contract.js';
import type { AppSessionData } from './data.js';
import { setCookieHeader, type CookieAttributes } from './cookies.js';
import { beakerSign, beakerUnsign } from './crypto.js';
import { SessionStoreError } from './errors.js';
import {
  decodeRecord,
  encodeRecord,
  type DataRecord,
  type DecodedRecord,
  type SessionMeta,
  type StoredRecord,
} from './format.js';
import { Session, sessionExpired } from './session.js';
import { LOCK_WAIT_MS, type SessionRecords } from './session-records.js';
import type { ServerSessionSettings } from './settings.js';
import { hashedSessionKey, sessionHint, sessionRef } from './store-keys.js';
import { UserSessions, type UserIndexEntry } from './user-index.js';

/** Has `value` an id's shape: 32 lowercase hex digits (`/^[0-9a-f]{32}$/`, without the regular expression). */
function isIdShaped(value: string): boolean {
  if (value.length !== 32) return false;
  for (let index = 0; index < 32; index += 1) {
    const code = value.charCodeAt(index);
    // 0-9, a-f
    if (!((code >= 48 && code <= 57) || (code >= 97 && code <= 102))) return false;
  }
  return true;
}
/** At most this many of a request's cookie values (verified and well-formed) are looked up in the store. */
const MAX_STORE_READS = 4;
/** The namespace of server-side session records in their back-end. */
export const SESSION_NAMESPACE = 'beaker.session';
/** Stored sessions outlive their idle timeout by this much, as in Beaker. */
const STORE_TTL_PAD_MS = 120_000;

/** A candidate id from the request's cookie; `rotated` when it was signed with an older secret. */
interface CandidateId {
  value: string;
  rotated: boolean;
}

/** What reading one candidate's record came to (`expired`: the record is to be removed, and no other id tried). */
type ReadOutcome = 'adopted' | 'expired' | 'unusable';

/** The meta of the record stored under `key`, or undefined when there is none or it cannot be read. */
async function storedMeta(records: SessionRecords, key: string): Promise<SessionMeta | undefined> {
  const text = await records.run('read the session', (backend) => backend.get(SESSION_NAMESPACE, key));
  if (typeof text !== 'string') return undefined;
  try {
    return decodeRecord(text, '').meta;
  } catch {
    return undefined;
  }
}

/**
 * Removes the record stored under `key` under its lock, as a logout does, so that a request of it in flight cannot
 * save it back; true when it was there (or the back-end cannot tell).
 */
function removeRecord(records: SessionRecords, key: string): Promise<boolean> {
  return records.underLock(
    SESSION_NAMESPACE,
    key,
    undefined,
    `session ${sessionHint(key)}: revoking`,
    async () => {
      const removed = await records.run('delete the session', (backend) =>
        backend.delete(SESSION_NAMESPACE, key),
      );
      return removed !== false;
    },
  );
}

/**
 * The sessions of each user of a manager's store: listed from its user index, each checked against its record, and
 * ended as a logout ends one.
 */
export function userSessionsOf(settings: ServerSessionSettings): UserSessions {
  const { records } = settings;
  const read = async (key: string): Promise<SessionMeta | undefined> => {
    const meta = await storedMeta(records, key);
    return meta !== undefined && !sessionExpired(settings, meta, settings.clock()) ? meta : undefined;
  };
  return new UserSessions(settings.userIndex, read, (key) => removeRecord(records, key));
}

/** At most this many stored sessions are read or removed at a time by {@link removeStoredBefore}. */
const SWEEP_CONCURRENCY = 16;

/**
 * Removes every stored session created before `time` (ms since the epoch), each as a logout removes one; resolves
 * to how many. It reads the whole session namespace, a few records at a time: a maintenance task (the CLI's
 * `sessions revoke --all-before`), never a request's work. Index entries of removed sessions are dropped when their
 * users' sessions are next listed.
 */
export async function removeStoredBefore(settings: ServerSessionSettings, time: number): Promise<number> {
  const { records } = settings;
  const keys = await records.run('list the sessions', (backend) => backend.keys(SESSION_NAMESPACE));
  let removed = 0;
  await forEachBounded(keys, SWEEP_CONCURRENCY, async (key) => {
    const meta = await storedMeta(records, key);
    if (meta !== undefined && meta.created < time && (await removeRecord(records, key))) removed += 1;
  });
  return removed;
}

/** The session of one request, kept in the configured back-end. `T` types its data. */
export class ServerSession<T extends object = AppSessionData> extends Session<T> {
  readonly #settings: ServerSessionSettings;
  /** The version of the stored record this session was read from. */
  #version = 0;
  /**
   * The store key of this session's record, while one exists (undefined: none). It is the current id's key, but for
   * a record read under its raw id by `migrate_raw_ids`, which the next save moves to the hashed key.
   */
  #storedKey: string | undefined;
  /** The user of the stored record (as read, or as last written), whose index lists this session. */
  #storedUser: string | undefined;
  /** The current id's store key, and the id it was computed for (an id changes by regeneration). */
  #key = '';
  #keyFor: string | undefined;
  #heldLock: LockHandle | undefined;

  constructor(settings: ServerSessionSettings, cookieHeader: string | undefined) {
    super(settings, cookieHeader);
    this.#settings = settings;
  }

  /**
   * Takes the session's lock, then reads what other requests stored before it was taken (applying this request's
   * changes on top), so that a read-modify-write between `lock()` and `unlock()` sees every earlier one.
   */
  async lock(): Promise<void> {
    await this.load();
    if (this.#heldLock) return;
    const lock = await this.#acquireLock();
    if (!lock) throw new SessionStoreError(`lock the session within ${LOCK_WAIT_MS} ms`);
    this.#heldLock = lock;
    try {
      await this.#catchUp();
    } catch (error) {
      await this.unlock();
      throw error;
    }
  }

  /** Takes in what was stored since this session read its record (a removed record is left to the next save). */
  async #catchUp(): Promise<void> {
    const key = this.#storedKey;
    if (key === undefined) return;
    const id = this.meta.id;
    const text = await this.#readKey(key);
    const current = typeof text === 'string' ? this.#tryDecodeRecord(text, id) : undefined;
    if (!current || current.record.version === this.#version) return;
    this.trackedData.mergeOnto(current.data);
    this.#version = current.record.version;
  }

  protected releaseLock(): Promise<void> | undefined {
    const lock = this.#heldLock;
    if (lock === undefined) return undefined;
    this.#heldLock = undefined;
    return lock.release();
  }

  // ---- reading ----------------------------------------------------------------------------------------------------

  /**
   * Tries the candidate ids in turn. A store in this process that has `peek`, once open, is read at once: the
   * session is then loaded without waiting a turn (an expired record still waits for its removal).
   */
  protected read(): Promise<void> | void {
    const forcedId = this.#settings.forcedId;
    // An id's shape is checked before it reaches a store key, whether it came from a cookie or from getById().
    const forced =
      forcedId !== undefined && isIdShaped(forcedId) ? [{ value: forcedId, rotated: false }] : [];
    const candidates = forcedId === undefined ? this.#candidateIds() : forced;
    const backend = this.#settings.records.opened();
    if (candidates.length > 0 && backend?.peek === undefined) return this.#readWaiting(candidates);
    for (const candidate of candidates) {
      const key = this.#keyOf(candidate.value);
      const text = this.#peekStored(backend as AnyBackend, key);
      if (text === undefined && this.#settings.migrateRawIds) return this.#readWaiting(candidates);
      const outcome = this.#adoptStored(candidate, key, text);
      if (outcome === 'adopted') return;
      if (outcome === 'expired')
        return this.#removeExpired(key).then(() => {
          this.startNew();
        });
    }
    this.startNew();
  }

  /** {@link read} through the store's `get`. */
  async #readWaiting(candidates: readonly CandidateId[]): Promise<void> {
    for (const candidate of candidates) {
      let key = this.#keyOf(candidate.value);
      let text = await this.#readKey(key);
      // `migrate_raw_ids`: a record stored before ids were hashed is read under the raw id (and moved by its save).
      if (text === undefined && this.#settings.migrateRawIds && key !== candidate.value) {
        key = candidate.value;
        text = await this.#readKey(key);
      }
      const outcome = this.#adoptStored(candidate, key, text);
      if (outcome === 'adopted') return;
      if (outcome === 'expired') {
        await this.#removeExpired(key);
        break;
      }
    }
    this.startNew();
  }

  #readKey(key: string): Promise<unknown> {
    return this.#settings.records.run('read the session', (backend) => backend.get(SESSION_NAMESPACE, key));
  }

  /** The store key of a session id: its digest (`hash_ids`, the default), or the id itself. */
  #keyOf(id: string): string {
    return this.#settings.hashIds ? hashedSessionKey(id) : id;
  }

  /** The store key of this session's current id (computed once per id). */
  #currentKey(): string {
    const id = this.meta.id;
    if (this.#keyFor !== id) {
      this.#keyFor = id;
      this.#key = this.#keyOf(id);
    }
    return this.#key;
  }

  /** The store's entry for `id`, read at once through `peek`; its failure is a store failure, as with `get`. */
  #peekStored(backend: AnyBackend, id: string): unknown {
    try {
      return (backend.peek as (namespace: string, key: string) => unknown).call(
        backend,
        SESSION_NAMESPACE,
        id,
      );
    } catch (error) {
      throw this.#settings.records.failure('read the session', error);
    }
  }

  /**
   * Adopts the record read under `key` for one candidate id, or tells why not (an expired record is then to be
   * removed).
   */
  #adoptStored({ value: id, rotated }: CandidateId, key: string, text: unknown): ReadOutcome {
    if (typeof text !== 'string') return 'unusable';
    const now = this.#settings.clock();
    let record: DecodedRecord;
    let data: DataRecord;
    try {
      record = decodeRecord(text, id);
      data = this.#decodeData(record.data);
    } catch (error) {
      this.corrupt(`stored session ${sessionHint(key)} cannot be read`, error);
      return 'unusable';
    }
    if (this.expired(record.meta, now)) return 'expired';
    this.adopt(record.meta, data, now);
    this.#version = record.version;
    this.#storedKey = key;
    this.#storedUser = record.meta.user;
    // A record under its raw id (migrate_raw_ids) is moved to its hashed key by a save at the end of this request;
    // any other was read under the current id's key, which need not be computed again.
    if (this.#settings.hashIds && key === id) this.markForSave();
    else {
      this.#keyFor = id;
      this.#key = key;
    }
    // A cookie signed with an older secret is re-signed.
    if (rotated) this.resendCookie();
    return 'adopted';
  }

  #removeExpired(key: string): Promise<unknown> {
    return this.#settings.records.run('remove an expired session', (backend) =>
      backend.delete(SESSION_NAMESPACE, key),
    );
  }

  /**
   * The ids of the request's cookie values that verify and have an id's shape, each once, at most
   * {@link MAX_STORE_READS}: a value that fails its signature costs no store read, so cookies planted before the real
   * one (by another site of the domain) cannot hide it, and no request reads the store more than a few times.
   */
  #candidateIds(): CandidateId[] {
    const values = this.#settings.useCookies ? this.requestCookieValues() : [];
    const candidates: CandidateId[] = [];
    next: for (const value of values) {
      const verified = this.#verifyId(value);
      if (!verified || !isIdShaped(verified.value)) continue;
      for (const candidate of candidates) if (candidate.value === verified.value) continue next;
      candidates.push(verified);
      if (candidates.length === MAX_STORE_READS) break;
    }
    return candidates;
  }

  /** The id in a cookie value, checked against the secrets (any value when there is no secret). */
  #verifyId(value: string): { value: string; rotated: boolean } | undefined {
    const { idRing, beaker, beakerSecrets } = this.#settings;
    if (idRing) return idRing.unsign(value);
    if (beaker && beakerSecrets.length > 0) return beakerUnsign(beakerSecrets, value);
    return { value, rotated: false };
  }

  protected override startNew(): void {
    super.startNew();
    this.#storedKey = undefined;
    this.#storedUser = undefined;
    this.#version = 0;
  }

  #decodeData(text: string): DataRecord {
    const { dataRing, dataCodec } = this.#settings;
    const plain = dataRing ? dataRing.open(text).plaintext.toString('utf8') : text;
    return dataCodec.decode(plain);
  }

  #encodeData(data: DataRecord): string {
    const { dataRing, dataCodec } = this.#settings;
    const plain = dataCodec.encode(data);
    return dataRing ? dataRing.seal(Buffer.from(plain, 'utf8')) : plain;
  }

  // ---- writing ----------------------------------------------------------------------------------------------------

  protected isStoredOrSent(): boolean {
    return this.#storedKey !== undefined;
  }

  /**
   * Stores the session; when the record this session was read from is gone (see {@link #writeRecord}), the session
   * ends here instead: this request's changes are dropped and no cookie is sent.
   */
  protected async keep(): Promise<boolean> {
    if (await this.#writeRecord()) return true;
    this.#storedKey = undefined;
    this.endWithoutCookie();
    return false;
  }

  /**
   * Writes the record under the session's lock, merging with changes another request stored since this one read it.
   * Resolves to false, writing nothing, when the record this session was read from is gone: another request removed
   * it (logout, regeneration, revocation) or it expired, and a save must never bring it back.
   */
  async #writeRecord(): Promise<boolean> {
    const id = this.meta.id;
    const key = this.#currentKey();
    return this.#underLock('saving', async () => {
      let version = this.#version;
      const storedKey = this.#storedKey;
      if (storedKey !== undefined) {
        const text = await this.#readKey(storedKey);
        if (typeof text !== 'string') return false;
        const current = this.#tryDecodeRecord(text, id);
        if (current && current.record.version !== this.#version) {
          this.trackedData.mergeOnto(current.data);
          this.#takeStoredUser(current.record.meta);
          version = current.record.version;
        }
      }
      const now = this.#settings.clock();
      const ttlMs = this.#storeTtlMs();
      await this.#indexUser(key, storedKey, now, ttlMs);
      const { id: _id, ...meta } = this.meta;
      const record: StoredRecord = {
        meta,
        version: version + 1,
        data: this.#encodeData(this.trackedData.current),
      };
      const text = this.#withinMaxSize(encodeRecord(record));
      await this.#settings.records.run('save the session', (backend) =>
        backend.set(
          SESSION_NAMESPACE,
          key,
          text,
          ttlMs === undefined ? {} : { ttlMs: roundedTtlMs(ttlMs, backend.capabilities) },
        ),
      );
      // A record migrated from its raw id: the old copy goes once the hashed one is stored.
      if (storedKey !== undefined && storedKey !== key)
        await this.#settings.records.run('delete the session', (backend) =>
          backend.delete(SESSION_NAMESPACE, storedKey),
        );
      await this.#unindexPreviousUser(storedKey, key);
      this.#version = version + 1;
      this.#storedKey = key;
      this.#storedUser = this.meta.user;
      this.markStored();
      return true;
    });
  }

  /**
   * A request that did not call `setUser` keeps the user binding another request stored meanwhile (a login through
   * another tab), rather than writing back the one it read.
   */
  #takeStoredUser(stored: SessionMeta): void {
    if (this.userSetInRequest) return;
    const meta = this.meta;
    delete meta.user;
    delete meta.userInfo;
    delete meta.userSince;
    delete meta.indexedUntil;
    const { user, userInfo, userSince, indexedUntil } = stored;
    if (user !== undefined) Object.assign(meta, { user, userInfo, userSince, indexedUntil });
    this.#storedUser = user;
  }

  /**
   * Lists the session in its user's index before its record is written (so that no stored session of a user is
   * missing from it): when it is first stored under this id with a user, when its user changed, and when less than a
   * store TTL is left of its entry. The entry is kept half a TTL longer than the record it was written with, so it
   * outlives every write of the record between two index writes.
   */
  async #indexUser(
    key: string,
    storedKey: string | undefined,
    now: number,
    ttlMs: number | undefined,
  ): Promise<void> {
    const meta = this.meta;
    const user = meta.user;
    if (user === undefined) return;
    const indexedUntil = meta.indexedUntil;
    const due =
      storedKey !== key ||
      this.#storedUser !== user ||
      indexedUntil === undefined ||
      (indexedUntil !== null && ttlMs !== undefined && indexedUntil - now < ttlMs);
    if (!due) return;
    const until = ttlMs === undefined ? null : now + Math.ceil(ttlMs * 1.5);
    const entry: UserIndexEntry = { key, created: meta.created, until };
    if (meta.userInfo !== undefined) entry.info = meta.userInfo;
    await this.#settings.userIndex.add(user, sessionRef(key), entry);
    meta.indexedUntil = until;
  }

  /** Takes the session out of the index of the user it was stored with, when that user or its key changed. */
  async #unindexPreviousUser(storedKey: string | undefined, key: string): Promise<void> {
    const previous = this.#storedUser;
    if (storedKey === undefined || previous === undefined) return;
    if (previous === this.meta.user && storedKey === key) return;
    await this.#settings.userIndex.remove(previous, [sessionRef(storedKey)]);
  }

  /** `text`, unless it is larger than `max_size` ({@link SessionTooLargeError}: nothing is stored). */
  #withinMaxSize(text: string): string {
    const limit = this.#settings.maxSizeBytes;
    // A UTF-16 code unit is at most 3 UTF-8 bytes: a short record needs no byte count.
    if (limit === null || text.length * 3 <= limit) return text;
    const bytes = Buffer.byteLength(text);
    if (bytes > limit) throw new SessionTooLargeError(bytes, limit);
    return text;
  }

  /** How long the store keeps the record: past the idle timeout by a margin, or up to the absolute timeout. */
  #storeTtlMs(): number | undefined {
    const { timeoutMs, absoluteTimeoutMs } = this.#settings;
    return timeoutMs !== null ? timeoutMs + STORE_TTL_PAD_MS : (absoluteTimeoutMs ?? undefined);
  }

  #tryDecodeRecord(text: string, id: string): { record: DecodedRecord; data: DataRecord } | undefined {
    try {
      const record = decodeRecord(text, id);
      return { record, data: this.#decodeData(record.data) };
    } catch {
      return undefined;
    }
  }

  protected async removeStored(): Promise<void> {
    const key = this.#storedKey;
    if (key === undefined) return;
    await this.#underLock('removing', () =>
      this.#settings.records.run('delete the session', (backend) => backend.delete(SESSION_NAMESPACE, key)),
    );
    this.#storedKey = undefined;
    const user = this.#storedUser;
    this.#storedUser = undefined;
    // The session is gone already: an index that cannot be updated keeps an entry that lists nothing (it is
    // reported as a store-error, and dropped when the user's sessions are next listed), not a failed logout.
    if (user !== undefined)
      await this.#settings.userIndex.remove(user, [sessionRef(key)]).catch(() => undefined);
  }

  protected currentRef(): string {
    return sessionRef(this.#currentKey());
  }

  // ---- the cookie -------------------------------------------------------------------------------------------------

  protected cookieToSend(attributes: CookieAttributes): string {
    return setCookieHeader(this.#settings.cookieName, this.#signedId(), attributes);
  }

  #signedId(): string {
    const id = this.meta.id;
    const { idRing, beaker, beakerSecrets } = this.#settings;
    if (idRing) return idRing.sign(id);
    const secret = beakerSecrets[0];
    return beaker && secret !== undefined ? beakerSign(secret, id) : id;
  }

  // ---- the lock ---------------------------------------------------------------------------------------------------

  /**
   * Runs `operation` holding this session's lock (the one taken by {@link lock}, or one taken for it), so that
   * removals and saves of one session never interleave.
   */
  #underLock<R>(what: string, operation: () => Promise<R>): Promise<R> {
    const key = this.#currentKey();
    return this.#settings.records.underLock(
      SESSION_NAMESPACE,
      key,
      this.#heldLock,
      `session ${sessionHint(key)}: ${what}`,
      operation,
    );
  }

  /** This session's lock, or undefined after {@link LOCK_WAIT_MS}; a lock store that fails is a store failure. */
  #acquireLock(): Promise<LockHandle | undefined> {
    return this.#settings.records.acquire(SESSION_NAMESPACE, this.#currentKey());
  }
}
