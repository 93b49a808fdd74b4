/**
 * `Session`: one request's session, lazy. Nothing is read until the session is used; reading costs one store read,
 * a modification one merged write; an unmodified session is written only for the access-time bookkeeping that
 * `timeout` needs, at most once per `touch_interval`. Ids the store does not know, or whose signature fails, are
 * never adopted: a fresh id is minted.
 * @module
 */
import type { Backend, BackendEvent } from '../backends/contract.js';
import { isConfigurationError, redactCredentials, type BeakerError } from '../errors.js';
import type { AppSessionData } from './data.js';
import { entryLockName, type LockHandle, type LockProvider } from '../locks/contract.js';
import {
  CookieTooLargeError,
  cookieValues,
  deletionCookieHeader,
  setCookieHeader,
  type CookieAttributes,
} from './cookies.js';
import {
  beakerDecode,
  beakerEncode,
  beakerSign,
  beakerUnsign,
  type BeakerEncoding,
  type KeyRing,
} from './crypto.js';
import {
  SessionCookieTooLargeError,
  SessionCorruptError,
  SessionNotLoadedError,
  SessionStoreError,
} from './errors.js';
import {
  decodeCookiePayload,
  decodeRecord,
  encodeCookiePayload,
  encodeRecord,
  fromBeakerDict,
  toBeakerDict,
  toSessionData,
  type DataCodec,
  type DataRecord,
  type SessionMeta,
  type StoredRecord,
} from './format.js';

/** A problem reported without failing the request. */
export interface SessionEvent {
  /** `store-error`: the store failed an operation, which fails the request with a {@link SessionStoreError}. */
  type: 'corrupt-session' | 'lock-timeout' | 'store-error' | BackendEvent['type'];
  message: string;
  error?: unknown;
}

/** What every session of one manager shares (built once by the manager). */
export interface SessionSettings {
  kind: 'server' | 'cookie';
  cookieName: string;
  useCookies: boolean;
  attributes: CookieAttributes;
  cookieExpires: boolean | number | Date;
  timeoutMs: number | null;
  absoluteTimeoutMs: number | null;
  touchIntervalMs: number | null;
  saveAccessedTime: boolean;
  auto: boolean;
  invalidateCorrupt: boolean;
  forcedId: string | undefined;
  dataCodec: DataCodec;
  /** Set for `crypto_type = cryptography | pycrypto`: Beaker's formats. */
  beaker: BeakerEncoding | undefined;
  beakerSecrets: readonly string[];
  beakerValidateKeys: readonly string[];
  idRing: KeyRing | undefined;
  cookieRing: KeyRing | undefined;
  dataRing: KeyRing | undefined;
  backend: () => Promise<Backend>;
  locks: () => LockProvider;
  clock: () => number;
  report: (event: SessionEvent) => void;
  newId: () => string;
}

const ID_PATTERN = /^[0-9a-f]{32}$/;
const NAMESPACE = 'beaker.session';
const LOCK_WAIT_MS = 5000;
/** Beaker's "never": 2038-01-19T03:14:07Z. */
const NEVER = new Date(0x7fffffff * 1000);
/** Stored sessions outlive their idle timeout by this much, as in Beaker. */
const STORE_TTL_PAD_MS = 120_000;

/** The session of one request. `T` types its data. */
export class Session<T extends object = AppSessionData> {
  readonly #s: SessionSettings;
  readonly #cookieHeader: string | undefined;
  #loading: Promise<void> | undefined;
  #loaded = false;
  #deleted = false;
  #meta!: SessionMeta;
  #data: DataRecord = toSessionData({});
  #snapshot: DataRecord = toSessionData({});
  #isNew = true;
  #lastAccessed: number | null = null;
  /** The version of the stored record this session was read from. */
  #version = 0;
  /** A record exists in the store under the current id. */
  #stored = false;
  #changes = new Map<string, { value: unknown } | undefined>();
  #cleared = false;
  #unsaved = false;
  #saveRequested = false;
  #sendCookie = false;
  #sendDeletion = false;
  #sealedCookie: string | undefined;
  #heldLock: LockHandle | undefined;

  constructor(settings: SessionSettings, cookieHeader: string | undefined) {
    this.#s = settings;
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

  /** The data, once loaded (read-only view; change it with `set`, `unset` and `clear`). */
  get data(): Readonly<Partial<T>> {
    this.#loadedMeta();
    return this.#data as Partial<T>;
  }

  /** Reads the session (once): from the store, or from the cookie. */
  async load(): Promise<this> {
    this.#loading ??= this.#load().then(() => {
      this.#loaded = true;
    });
    await this.#loading;
    return this;
  }

  async get<K extends keyof T & string>(key: K): Promise<T[K] | undefined> {
    await this.load();
    return this.#data[key] as T[K] | undefined;
  }

  async has(key: keyof T & string): Promise<boolean> {
    await this.load();
    return Object.hasOwn(this.#data, key);
  }

  /** A copy of all the data. */
  async all(): Promise<Partial<T>> {
    await this.load();
    return { ...this.#data } as Partial<T>;
  }

  async set<K extends keyof T & string>(key: K, value: T[K]): Promise<void> {
    await this.load();
    this.#data[key] = value;
    this.#changes.set(key, { value });
    this.#unsaved = true;
  }

  async unset(key: keyof T & string): Promise<void> {
    await this.load();
    Reflect.deleteProperty(this.#data, key);
    this.#changes.set(key, undefined);
    this.#unsaved = true;
  }

  /** Removes every key. */
  async clear(): Promise<void> {
    await this.load();
    this.#data = toSessionData({});
    this.#changes.clear();
    this.#cleared = true;
    this.#unsaved = true;
  }

  /** Sets the cookie domain for this session; it sticks to the session once saved. */
  async setDomain(domain: string | undefined): Promise<void> {
    await this.load();
    if (domain === undefined) delete this.#meta.domain;
    else this.#meta.domain = domain;
    this.#markForSave();
  }

  /** Sets the cookie path for this session; it sticks to the session once saved. */
  async setPath(path: string | undefined): Promise<void> {
    await this.load();
    if (path === undefined) delete this.#meta.path;
    else this.#meta.path = path;
    this.#markForSave();
  }

  /** Stores the session now (and again at the end of the request if it changes after this). */
  async save(): Promise<void> {
    await this.load();
    if (this.#deleted) return;
    this.#saveRequested = true;
    await this.#write();
  }

  /** Restores the data as it was loaded, dropping this request's changes. */
  async revert(): Promise<void> {
    await this.load();
    this.#data = toSessionData(this.#snapshot);
    this.#changes.clear();
    this.#cleared = false;
    this.#unsaved = false;
  }

  /** Deletes the session from the store and tells the browser to drop its cookie. */
  async delete(): Promise<void> {
    await this.load();
    await this.#removeStored();
    this.#data = toSessionData({});
    this.#deleted = true;
    this.#sendDeletion = this.#s.useCookies;
  }

  /** Replaces the session by an empty one with a new id; the old record is removed. */
  async invalidate(): Promise<void> {
    await this.load();
    await this.#removeStored();
    this.#startNew();
  }

  /** Gives the session a new id, keeping its data (do this on login); the old record is removed. */
  async regenerateId(): Promise<void> {
    await this.load();
    await this.#removeStored();
    this.#meta.id = this.#s.newId();
    this.#changes.clear();
    this.#cleared = true;
    for (const [key, value] of Object.entries(this.#data)) this.#changes.set(key, { value });
    this.#markForSave();
  }

  /** Takes this session's lock until {@link unlock}: other requests' saves of this session wait. */
  async lock(): Promise<void> {
    await this.load();
    if (this.#heldLock) return;
    const lock = await this.#acquireLock();
    if (!lock) throw new SessionStoreError(`lock the session within ${LOCK_WAIT_MS} ms`);
    this.#heldLock = lock;
  }

  async unlock(): Promise<void> {
    const lock = this.#heldLock;
    this.#heldLock = undefined;
    await lock?.release();
  }

  /**
   * The end of the request (adapters call it before the headers go out): saves what must be saved (`save()` called,
   * or `auto`), records the access time when `timeout` needs it, refreshes a sliding cookie. An unused session costs
   * nothing.
   */
  async persist(): Promise<void> {
    if (!this.#loaded || this.#deleted) return;
    try {
      const now = this.#s.clock();
      const mustSave = (this.#s.auto || this.#saveRequested) && (this.#unsaved || !this.#storedOrSent());
      if (mustSave || (!this.#isNew && (this.#touchDue(now) || this.#slidingRefreshDue(now))))
        await this.#write();
    } finally {
      await this.unlock();
    }
  }

  /** The Set-Cookie header values to send with the response (empty when the cookie need not change). */
  setCookieHeaders(): string[] {
    if (!this.#s.useCookies || !this.#loaded) return [];
    const attributes = this.#attributes();
    if (this.#sendDeletion) return [deletionCookieHeader(this.#s.cookieName, attributes)];
    if (!this.#sendCookie) return [];
    if (this.#s.kind === 'cookie') return this.#sealedCookie === undefined ? [] : [this.#sealedCookie];
    return [setCookieHeader(this.#s.cookieName, this.#signedId(), attributes)];
  }

  // ---- loading ------------------------------------------------------------------------------------------------

  async #load(): Promise<void> {
    if (this.#s.kind === 'cookie') this.#loadCookie();
    else await this.#loadServer();
    this.#snapshot = toSessionData(this.#data);
  }

  async #loadServer(): Promise<void> {
    const candidates =
      this.#s.forcedId === undefined ? this.#candidateIds() : [{ id: this.#s.forcedId, rotated: false }];
    for (const { id, rotated } of candidates) {
      if (!ID_PATTERN.test(id)) continue;
      const text = await this.#store('read the session', (backend) => backend.get(NAMESPACE, id));
      if (typeof text !== 'string') continue;
      const now = this.#s.clock();
      let record: StoredRecord;
      let data: DataRecord;
      try {
        record = decodeRecord(text);
        data = this.#decodeData(record.data);
      } catch (error) {
        this.#corrupt(`stored session ${id} cannot be read`, error);
        continue;
      }
      if (this.#expired(record.meta, now)) {
        await this.#store('remove an expired session', (backend) => backend.delete(NAMESPACE, id));
        break;
      }
      this.#adopt({ id, ...record.meta }, data, now);
      this.#version = record.version;
      this.#stored = true;
      // A cookie signed with an older secret is re-signed.
      if (rotated) this.#sendCookie = true;
      return;
    }
    this.#startNew();
  }

  #loadCookie(): void {
    for (const value of cookieValues(this.#cookieHeader, this.#s.cookieName)) {
      const now = this.#s.clock();
      let opened: { meta: SessionMeta; data: DataRecord; rotated: boolean };
      try {
        opened = this.#openCookie(value, now);
      } catch (error) {
        this.#corrupt('the session cookie cannot be read', error);
        continue;
      }
      if (this.#expired(opened.meta, now)) break;
      this.#adopt(opened.meta, opened.data, now);
      if (opened.rotated) this.#markForSave();
      return;
    }
    this.#startNew();
  }

  #openCookie(value: string, now: number): { meta: SessionMeta; data: DataRecord; rotated: boolean } {
    const beaker = this.#s.beaker;
    if (beaker) {
      const unsigned = beakerUnsign(this.#s.beakerValidateKeys, value);
      if (!unsigned) throw new Error('Invalid signature');
      return {
        ...fromBeakerDict(beakerDecode(unsigned.value, beaker), this.#s.newId(), now),
        rotated: unsigned.rotated,
      };
    }
    const { plaintext, rotated } = (this.#s.cookieRing as KeyRing).open(value);
    const payload = decodeCookiePayload(plaintext.toString('utf8'));
    return { meta: payload.meta, data: this.#s.dataCodec.decode(payload.data), rotated };
  }

  #candidateIds(): { id: string; rotated: boolean }[] {
    const values = this.#s.useCookies ? cookieValues(this.#cookieHeader, this.#s.cookieName) : [];
    const candidates: { id: string; rotated: boolean }[] = [];
    for (const value of values) {
      const verified = this.#verifyId(value);
      if (verified) candidates.push({ id: verified.value, rotated: verified.rotated });
    }
    return candidates;
  }

  /** The id in a cookie value, checked against the secrets (any value when there is no secret). */
  #verifyId(value: string): { value: string; rotated: boolean } | undefined {
    if (this.#s.idRing) return this.#s.idRing.unsign(value);
    if (this.#s.beaker && this.#s.beakerSecrets.length > 0) return beakerUnsign(this.#s.beakerSecrets, value);
    return { value, rotated: false };
  }

  #adopt(meta: SessionMeta, data: DataRecord, now: number): void {
    this.#lastAccessed = meta.accessed;
    this.#meta = { ...meta, accessed: now };
    this.#data = data;
    this.#isNew = false;
  }

  #startNew(): void {
    const now = this.#s.clock();
    this.#meta = { id: this.#s.forcedId ?? this.#s.newId(), created: now, accessed: now };
    this.#data = toSessionData({});
    this.#changes.clear();
    this.#cleared = true;
    this.#isNew = true;
    this.#stored = false;
    this.#version = 0;
    this.#lastAccessed = null;
    this.#sealedCookie = undefined;
  }

  #expired(meta: Pick<SessionMeta, 'created' | 'accessed' | 'cookieExpires'>, now: number): boolean {
    const { timeoutMs, absoluteTimeoutMs } = this.#s;
    if (timeoutMs !== null && now - meta.accessed > timeoutMs) return true;
    if (absoluteTimeoutMs !== null && now - meta.created > absoluteTimeoutMs) return true;
    // A cookie session carries its own cookie expiry, so a replayed old cookie is refused.
    return this.#s.kind === 'cookie' && meta.cookieExpires !== undefined && now > meta.cookieExpires;
  }

  #corrupt(message: string, error: unknown): void {
    if (!this.#s.invalidateCorrupt) {
      throw new SessionCorruptError(`${message}: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
    this.#s.report({ type: 'corrupt-session', message: `${message}; a new session replaces it`, error });
  }

  #decodeData(text: string): DataRecord {
    const plain = this.#s.dataRing ? this.#s.dataRing.open(text).plaintext.toString('utf8') : text;
    return this.#s.dataCodec.decode(plain);
  }

  #encodeData(data: DataRecord): string {
    const plain = this.#s.dataCodec.encode(data);
    return this.#s.dataRing ? this.#s.dataRing.seal(Buffer.from(plain, 'utf8')) : plain;
  }

  // ---- writing ------------------------------------------------------------------------------------------------

  #markForSave(): void {
    this.#unsaved = true;
    this.#saveRequested = true;
  }

  #storedOrSent(): boolean {
    return this.#s.kind === 'cookie' ? this.#sealedCookie !== undefined : this.#stored;
  }

  #touchDue(now: number): boolean {
    const interval = this.#s.touchIntervalMs;
    return interval !== null && this.#lastAccessed !== null && now - this.#lastAccessed >= interval;
  }

  #slidingRefreshDue(now: number): boolean {
    const duration = this.#s.cookieExpires;
    if (typeof duration !== 'number' || !this.#s.useCookies) return false;
    const expires = this.#meta.cookieExpires;
    return expires === undefined || expires - now < (duration * 1000) / 2;
  }

  async #write(): Promise<void> {
    const now = this.#s.clock();
    this.#meta.accessed = now;
    if (typeof this.#s.cookieExpires === 'number')
      this.#meta.cookieExpires = now + this.#s.cookieExpires * 1000;
    if (this.#s.kind === 'cookie') this.#sealCookie();
    else if (!(await this.#writeServer())) {
      this.#endRemoved();
      return;
    }
    this.#changes.clear();
    this.#cleared = false;
    this.#unsaved = false;
    this.#sendCookie = true;
  }

  #sealCookie(): void {
    const beaker = this.#s.beaker;
    const value = beaker
      ? beakerSign(
          this.#s.beakerValidateKeys[0] ?? '',
          beakerEncode(toBeakerDict(this.#meta, this.#data), beaker),
        )
      : (this.#s.cookieRing as KeyRing).seal(
          Buffer.from(
            encodeCookiePayload({ meta: this.#meta, data: this.#s.dataCodec.encode(this.#data) }),
            'utf8',
          ),
        );
    try {
      this.#sealedCookie = setCookieHeader(this.#s.cookieName, value, this.#attributes());
    } catch (error) {
      if (error instanceof CookieTooLargeError) throw new SessionCookieTooLargeError(error.bytes);
      throw error;
    }
  }

  /**
   * Writes the record under the session's lock, merging with changes another request stored since this one read it.
   * Resolves to false, writing nothing, when the record this session was read from is gone: another request removed
   * it (logout, regeneration) or it expired, and a save must never bring it back.
   */
  async #writeServer(): Promise<boolean> {
    const id = this.#meta.id;
    return this.#underLock('saving', async () => {
      let version = this.#version;
      if (this.#stored) {
        const text = await this.#store('read the session', (backend) => backend.get(NAMESPACE, id));
        if (typeof text !== 'string') return false;
        const current = this.#tryDecodeRecord(text);
        if (current && current.record.version !== this.#version) {
          this.#data = this.#merge(current.data);
          version = current.record.version;
        }
      }
      const { id: _id, ...meta } = this.#meta;
      const record: StoredRecord = { meta, version: version + 1, data: this.#encodeData(this.#data) };
      const ttlMs =
        this.#s.timeoutMs !== null
          ? this.#s.timeoutMs + STORE_TTL_PAD_MS
          : (this.#s.absoluteTimeoutMs ?? undefined);
      await this.#store('save the session', (backend) =>
        backend.set(NAMESPACE, id, encodeRecord(record), ttlMs === undefined ? {} : { ttlMs }),
      );
      this.#version = version + 1;
      this.#stored = true;
      this.#isNew = false;
      return true;
    });
  }

  /**
   * Runs `operation` holding this session's lock (the one taken by {@link lock}, or one taken for it), so that
   * removals and saves of one session never interleave. A lock not obtained in time is reported and the operation
   * runs all the same: a store must stay usable when a lock holder hangs.
   */
  async #underLock<R>(what: string, operation: () => Promise<R>): Promise<R> {
    const held = this.#heldLock;
    const lock = held ?? (await this.#acquireLock());
    if (!lock)
      this.#s.report({
        type: 'lock-timeout',
        message: `session ${this.#meta.id}: ${what} without its lock after ${LOCK_WAIT_MS} ms`,
      });
    try {
      return await operation();
    } finally {
      if (!held) await lock?.release();
    }
  }

  /**
   * The record was removed by another request since this one read it: this request's changes are dropped and the
   * session ends here. No cookie is sent, not even a deletion: the browser may already hold the id that replaced it.
   */
  #endRemoved(): void {
    this.#data = toSessionData({});
    this.#changes.clear();
    this.#unsaved = false;
    this.#stored = false;
    this.#deleted = true;
    this.#sendCookie = false;
    this.#sendDeletion = false;
  }

  #tryDecodeRecord(text: string): { record: StoredRecord; data: DataRecord } | undefined {
    try {
      const record = decodeRecord(text);
      return { record, data: this.#decodeData(record.data) };
    } catch {
      return undefined;
    }
  }

  /** Another request saved meanwhile: apply this request's changes on top of what it stored. */
  #merge(stored: DataRecord): DataRecord {
    const merged = this.#cleared ? toSessionData({}) : toSessionData(stored);
    for (const [key, change] of this.#changes) {
      if (change === undefined) Reflect.deleteProperty(merged, key);
      else merged[key] = change.value;
    }
    return merged;
  }

  async #removeStored(): Promise<void> {
    if (this.#s.kind === 'cookie' || !this.#stored) return;
    const id = this.#meta.id;
    await this.#underLock('removing', () =>
      this.#store('delete the session', (backend) => backend.delete(NAMESPACE, id)),
    );
    this.#stored = false;
  }

  /** This session's lock, or undefined after {@link LOCK_WAIT_MS}; a lock store that fails is a store failure. */
  #acquireLock(): Promise<LockHandle | undefined> {
    return this.#store('lock the session', () => this.#s.locks().acquire(this.#lockName(), LOCK_WAIT_MS));
  }

  /** Runs a store operation, turning its failure into a {@link SessionStoreError}. */
  async #store<R>(what: string, operation: (backend: Backend) => Promise<R>): Promise<R> {
    try {
      return await operation(await this.#s.backend());
    } catch (error) {
      // A store that cannot exist as configured is the application's error, not an outage to answer with 503.
      if (error instanceof SessionStoreError || isConfigurationError(error)) throw error;
      const detail = redactCredentials(error instanceof Error ? error.message : String(error));
      this.#s.report({
        type: 'store-error',
        message: `the session store could not ${what}: ${detail}`,
        error,
      });
      throw new SessionStoreError(what, { cause: error });
    }
  }

  // ---- cookies ------------------------------------------------------------------------------------------------

  #attributes(): CookieAttributes {
    const base = this.#s.attributes;
    const expiresOption = this.#s.cookieExpires;
    const attributes: CookieAttributes = {
      ...base,
      domain: this.#meta.domain ?? base.domain ?? null,
      path: this.#meta.path ?? base.path ?? '/',
    };
    if (expiresOption === false) attributes.expires = NEVER;
    else if (expiresOption instanceof Date) attributes.expires = expiresOption;
    else if (typeof expiresOption === 'number') {
      attributes.expires = new Date(this.#meta.cookieExpires ?? this.#s.clock() + expiresOption * 1000);
    }
    return attributes;
  }

  #signedId(): string {
    const id = this.#meta.id;
    if (this.#s.idRing) return this.#s.idRing.sign(id);
    const secret = this.#s.beakerSecrets[0];
    return this.#s.beaker && secret !== undefined ? beakerSign(secret, id) : id;
  }

  #lockName(): string {
    return entryLockName(NAMESPACE, this.#meta.id);
  }

  #loadedMeta(): SessionMeta {
    if (!this.#loaded) throw new SessionNotLoadedError();
    return this.#meta;
  }
}

/** Errors that mean "the session store failed": adapters answer them with 503. */
export function isSessionStoreError(error: unknown): error is BeakerError {
  return error instanceof SessionStoreError;
}
