/**
 * `ServerSession`: a session kept in a back-end, the cookie holding only its signed id. Reading costs one store read,
 * a modification one merged write under the session's lock; an unmodified session is written only for the
 * access-time bookkeeping that `timeout` needs, at most once per `touch_interval`. Ids the store does not know, or
 * whose signature fails, are never adopted: a fresh id is minted.
 * @module
 */
import { roundedTtlMs, type AnyBackend } from '../backends/contract.js';
import { isConfigurationError, redactCredentials } from '../shared/errors.js';
import { entryLockName, type LockHandle } from '../locks/contract.js';
import type { AppSessionData } from './data.js';
import { setCookieHeader, type CookieAttributes } from './cookies.js';
import { beakerSign, beakerUnsign } from './crypto.js';
import { SessionStoreError } from './errors.js';
import { decodeRecord, encodeRecord, type DataRecord, type StoredRecord } from './format.js';
import { Session } from './session.js';
import type { ServerSessionSettings } from './settings.js';

const ID_PATTERN = /^[0-9a-f]{32}$/;
/** At most this many of a request's cookie values (verified and well-formed) are looked up in the store. */
const MAX_STORE_READS = 4;
/** The namespace of server-side session records in their back-end. */
export const SESSION_NAMESPACE = 'beaker.session';
const LOCK_WAIT_MS = 5000;
/** Stored sessions outlive their idle timeout by this much, as in Beaker. */
const STORE_TTL_PAD_MS = 120_000;

/** A candidate id from the request's cookie; `rotated` when it was signed with an older secret. */
interface CandidateId {
  id: string;
  rotated: boolean;
}

/** The session of one request, kept in the configured back-end. `T` types its data. */
export class ServerSession<T extends object = AppSessionData> extends Session<T> {
  readonly #settings: ServerSessionSettings;
  /** The version of the stored record this session was read from. */
  #version = 0;
  /** A record exists in the store under the current id. */
  #stored = false;
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
    if (!this.#stored) return;
    const id = this.meta.id;
    const text = await this.#store('read the session', (backend) => backend.get(SESSION_NAMESPACE, id));
    const current = typeof text === 'string' ? this.#tryDecodeRecord(text) : undefined;
    if (!current || current.record.version === this.#version) return;
    this.trackedData.mergeOnto(current.data);
    this.#version = current.record.version;
  }

  async unlock(): Promise<void> {
    const lock = this.#heldLock;
    this.#heldLock = undefined;
    await lock?.release();
  }

  // ---- reading ----------------------------------------------------------------------------------------------------

  protected async read(): Promise<void> {
    const forcedId = this.#settings.forcedId;
    // An id's shape is checked before it reaches a store key, whether it came from a cookie or from getById().
    const forced =
      forcedId !== undefined && ID_PATTERN.test(forcedId) ? [{ id: forcedId, rotated: false }] : [];
    const candidates = forcedId === undefined ? this.#candidateIds() : forced;
    for (const candidate of candidates) {
      const outcome = await this.#readStored(candidate);
      if (outcome === 'adopted') return;
      if (outcome === 'expired') break;
    }
    this.startNew();
  }

  /** Reads the record of one candidate id: adopts it, or tells why not (an expired record is removed). */
  async #readStored({ id, rotated }: CandidateId): Promise<'adopted' | 'expired' | 'unusable'> {
    const text = await this.#store('read the session', (backend) => backend.get(SESSION_NAMESPACE, id));
    if (typeof text !== 'string') return 'unusable';
    const now = this.#settings.clock();
    let record: StoredRecord;
    let data: DataRecord;
    try {
      record = decodeRecord(text);
      data = this.#decodeData(record.data);
    } catch (error) {
      this.corrupt(`stored session ${id} cannot be read`, error);
      return 'unusable';
    }
    if (this.expired(record.meta, now)) {
      await this.#store('remove an expired session', (backend) => backend.delete(SESSION_NAMESPACE, id));
      return 'expired';
    }
    this.adopt({ id, ...record.meta }, data, now);
    this.#version = record.version;
    this.#stored = true;
    // A cookie signed with an older secret is re-signed.
    if (rotated) this.resendCookie();
    return 'adopted';
  }

  /**
   * The ids of the request's cookie values that verify and have an id's shape, each once, at most
   * {@link MAX_STORE_READS}: a value that fails its signature costs no store read, so cookies planted before the real
   * one (by another site of the domain) cannot hide it, and no request reads the store more than a few times.
   */
  #candidateIds(): CandidateId[] {
    const values = this.#settings.useCookies ? this.requestCookieValues() : [];
    const candidates: CandidateId[] = [];
    for (const value of values) {
      const verified = this.#verifyId(value);
      if (!verified || !ID_PATTERN.test(verified.value)) continue;
      if (candidates.some(({ id }) => id === verified.value)) continue;
      candidates.push({ id: verified.value, rotated: verified.rotated });
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
    this.#stored = false;
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
    return this.#stored;
  }

  /**
   * Stores the session; when the record this session was read from is gone (see {@link #writeRecord}), the session
   * ends here instead: this request's changes are dropped and no cookie is sent.
   */
  protected async keep(): Promise<boolean> {
    if (await this.#writeRecord()) return true;
    this.#stored = false;
    this.endWithoutCookie();
    return false;
  }

  /**
   * Writes the record under the session's lock, merging with changes another request stored since this one read it.
   * Resolves to false, writing nothing, when the record this session was read from is gone: another request removed
   * it (logout, regeneration) or it expired, and a save must never bring it back.
   */
  async #writeRecord(): Promise<boolean> {
    const id = this.meta.id;
    return this.#underLock('saving', async () => {
      let version = this.#version;
      if (this.#stored) {
        const text = await this.#store('read the session', (backend) => backend.get(SESSION_NAMESPACE, id));
        if (typeof text !== 'string') return false;
        const current = this.#tryDecodeRecord(text);
        if (current && current.record.version !== this.#version) {
          this.trackedData.mergeOnto(current.data);
          version = current.record.version;
        }
      }
      const { id: _id, ...meta } = this.meta;
      const record: StoredRecord = {
        meta,
        version: version + 1,
        data: this.#encodeData(this.trackedData.current),
      };
      const ttlMs = this.#storeTtlMs();
      await this.#store('save the session', (backend) =>
        backend.set(
          SESSION_NAMESPACE,
          id,
          encodeRecord(record),
          ttlMs === undefined ? {} : { ttlMs: roundedTtlMs(ttlMs, backend.capabilities) },
        ),
      );
      this.#version = version + 1;
      this.#stored = true;
      this.markStored();
      return true;
    });
  }

  /** How long the store keeps the record: past the idle timeout by a margin, or up to the absolute timeout. */
  #storeTtlMs(): number | undefined {
    const { timeoutMs, absoluteTimeoutMs } = this.#settings;
    return timeoutMs !== null ? timeoutMs + STORE_TTL_PAD_MS : (absoluteTimeoutMs ?? undefined);
  }

  #tryDecodeRecord(text: string): { record: StoredRecord; data: DataRecord } | undefined {
    try {
      const record = decodeRecord(text);
      return { record, data: this.#decodeData(record.data) };
    } catch {
      return undefined;
    }
  }

  protected async removeStored(): Promise<void> {
    if (!this.#stored) return;
    const id = this.meta.id;
    await this.#underLock('removing', () =>
      this.#store('delete the session', (backend) => backend.delete(SESSION_NAMESPACE, id)),
    );
    this.#stored = false;
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

  // ---- the store and the lock -------------------------------------------------------------------------------------

  /**
   * Runs `operation` holding this session's lock (the one taken by {@link lock}, or one taken for it), so that
   * removals and saves of one session never interleave. A lock not obtained in time is reported and the operation
   * runs all the same: a store must stay usable when a lock holder hangs.
   */
  async #underLock<R>(what: string, operation: () => Promise<R>): Promise<R> {
    const held = this.#heldLock;
    const lock = held ?? (await this.#acquireLock());
    if (!lock)
      this.#settings.report({
        type: 'lock-timeout',
        message: `session ${this.meta.id}: ${what} without its lock after ${LOCK_WAIT_MS} ms`,
      });
    try {
      return await operation();
    } finally {
      if (!held) await lock?.release();
    }
  }

  /** This session's lock, or undefined after {@link LOCK_WAIT_MS}; a lock store that fails is a store failure. */
  #acquireLock(): Promise<LockHandle | undefined> {
    return this.#store('lock the session', (backend) =>
      this.#settings.locks(backend).acquire(entryLockName(SESSION_NAMESPACE, this.meta.id), LOCK_WAIT_MS),
    );
  }

  /** Runs a store operation, turning its failure into a {@link SessionStoreError}. */
  async #store<R>(what: string, operation: (backend: AnyBackend) => Promise<R>): Promise<R> {
    try {
      return await operation(await this.#settings.backend());
    } catch (error) {
      // A store that cannot exist as configured is the application's error, not an outage to answer with 503.
      if (error instanceof SessionStoreError || isConfigurationError(error)) throw error;
      const detail = redactCredentials(error instanceof Error ? error.message : String(error));
      this.#settings.report({
        type: 'store-error',
        message: `the session store could not ${what}: ${detail}`,
        error,
      });
      throw new SessionStoreError(what, { cause: error });
    }
  }
}
