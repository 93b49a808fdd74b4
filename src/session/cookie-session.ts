/**
 * `CookieSession`: a session kept entirely in its cookie, sealed (encrypted and authenticated) in beaker-ts's format,
 * or signed and optionally encrypted in Beaker's (`crypto_type = cryptography | pycrypto`). There is no store: reading
 * opens the cookie, saving seals a new one.
 * @module
 */
import type { AppSessionData } from './data.js';
import { setCookieHeader } from './cookies.js';
import {
  beakerDecode,
  beakerEncode,
  beakerSign,
  beakerUnsign,
  type BeakerEncoding,
  type KeyRing,
} from './crypto.js';
import { SessionStoreError, TamperedValueError } from '../shared/errors.js';
import {
  decodeCookiePayload,
  encodeCookiePayload,
  fromBeakerDict,
  toBeakerDict,
  type DataRecord,
  type SessionMeta,
} from './format.js';
import { Session } from './session.js';
import { cookieSessionRef } from './store-keys.js';
import type { CookieSessionSettings } from './settings.js';

/** A session read from a cookie value; `rotated` when it was sealed with an older key. */
interface OpenedCookie {
  meta: SessionMeta;
  data: DataRecord;
  rotated: boolean;
}

/** Why a cookie session cannot be locked: it has no store to hold a lock in. */
const NO_BACKEND = 'cookie sessions have no back-end';

/** The session of one request, kept in its cookie. `T` types its data. */
export class CookieSession<T extends object = AppSessionData> extends Session<T> {
  readonly #settings: CookieSessionSettings;
  /** The Set-Cookie header of the session as last sealed in this request. */
  #sealedCookie: string | undefined;

  constructor(settings: CookieSessionSettings, cookieHeader: string | undefined) {
    super(settings, cookieHeader);
    this.#settings = settings;
  }

  /** A cookie session has no store to lock: this fails as a store failure, reported as a `store-error`. */
  async lock(): Promise<void> {
    await this.load();
    const what = 'lock the session';
    const cause = new TypeError(NO_BACKEND);
    this.#settings.report({
      type: 'store-error',
      message: `the session store could not ${what}: ${NO_BACKEND}`,
      error: cause,
    });
    throw new SessionStoreError(what, { cause });
  }

  /** Nothing to release: {@link lock} never holds a lock. */
  protected releaseLock(): undefined {
    return undefined;
  }

  // ---- reading ----------------------------------------------------------------------------------------------------

  /**
   * Opens the first authentic cookie. With `revocation_store`, a session is checked against the revocation list:
   * at once when the copy in memory is within the check interval, else after a fresh read of the list.
   */
  protected read(): Promise<void> | void {
    const now = this.#settings.clock();
    const opened = this.#liveCookie(now);
    const revocations = this.#settings.revocations;
    if (opened === undefined) {
      this.startNew();
    } else if (revocations === undefined || revocations.isFresh(now)) {
      this.#adoptUnlessRevoked(opened, now);
    } else {
      return revocations.refresh().then(() => {
        this.#adoptUnlessRevoked(opened, this.#settings.clock());
      });
    }
  }

  /** The session of the first cookie that opens, or undefined when none does or it has expired. */
  #liveCookie(now: number): OpenedCookie | undefined {
    for (const value of this.requestCookieValues()) {
      let opened: OpenedCookie;
      try {
        opened = this.#open(value, now);
      } catch (error) {
        // A cookie that fails its signature or seal is what a client sent, not stored data gone bad: it never fails
        // the request, whatever invalidate_corrupt says (else any client could cause a 500 with a stack trace).
        if (error instanceof TamperedValueError)
          this.reportReplaced('the session cookie is not authentic', error);
        else this.corrupt('the session cookie cannot be read', error);
        continue;
      }
      return this.expired(opened.meta, now) ? undefined : opened;
    }
    return undefined;
  }

  /** Takes `opened` as this request's session, or a new session when the revocation list refuses it. */
  #adoptUnlessRevoked(opened: OpenedCookie, now: number): void {
    const refusal = this.#settings.revocations?.refusal(opened.meta);
    if (refusal !== undefined) {
      this.#settings.report({
        type: 'revoked-session',
        message: `the session cookie is refused (${refusal}); a new session replaces it`,
      });
      this.startNew();
      return;
    }
    this.adopt(opened.meta, opened.data, now);
    if (opened.rotated) this.markForSave();
  }

  /** A cookie session also carries its own cookie expiry, so a replayed old cookie is refused. */
  protected override expired(
    meta: Pick<SessionMeta, 'created' | 'accessed' | 'cookieExpires'>,
    now: number,
  ): boolean {
    return super.expired(meta, now) || (meta.cookieExpires !== undefined && now > meta.cookieExpires);
  }

  protected override startNew(): void {
    super.startNew();
    this.#sealedCookie = undefined;
  }

  #open(value: string, now: number): OpenedCookie {
    const beaker = this.#settings.beaker;
    return beaker ? this.#openBeaker(value, beaker, now) : this.#openSealed(value);
  }

  /**
   * Beaker's format: the signature tells which `validate_key` made the cookie, which also salts its encryption key;
   * each `encrypt_key` is tried in turn, so that rotating either key keeps the sessions made before it.
   */
  #openBeaker(value: string, beaker: BeakerEncoding, now: number): OpenedCookie {
    const unsigned = beakerUnsign(this.#settings.beakerValidateKeys, value);
    if (!unsigned) throw new TamperedValueError('Invalid signature');
    const encryptKeys = beaker.encryptKey === undefined ? [undefined] : this.#settings.beakerEncryptKeys;
    let failure: unknown;
    for (const [index, encryptKey] of encryptKeys.entries()) {
      const encoding: BeakerEncoding = { ...beaker, validateKey: unsigned.key };
      if (encryptKey !== undefined) encoding.encryptKey = encryptKey;
      try {
        const opened = fromBeakerDict(beakerDecode(unsigned.value, encoding), this.#settings.newId(), now);
        return { ...opened, rotated: unsigned.rotated || index > 0 };
      } catch (error) {
        // Not this key (GCM fails to authenticate; CTR gives bytes that do not inflate): try the next one.
        failure = error;
      }
    }
    throw failure;
  }

  #openSealed(value: string): OpenedCookie {
    const { plaintext, rotated } = (this.#settings.cookieRing as KeyRing).open(value);
    const payload = decodeCookiePayload(plaintext.toString('utf8'));
    return { meta: payload.meta, data: this.#settings.dataCodec.decode(payload.data), rotated };
  }

  // ---- writing ----------------------------------------------------------------------------------------------------

  protected isStoredOrSent(): boolean {
    return this.#sealedCookie !== undefined;
  }

  /** Seals the session into the cookie to send; a cookie past the browsers' size limit fails the save. */
  protected keep(): Promise<boolean> {
    const value = this.#seal();
    this.#sealedCookie = setCookieHeader(this.#settings.cookieName, value, this.cookieAttributes());
    return Promise.resolve(true);
  }

  #seal(): string {
    const { beaker, beakerValidateKeys, cookieRing, dataCodec } = this.#settings;
    const data = this.trackedData.current;
    if (beaker)
      return beakerSign(beakerValidateKeys[0] ?? '', beakerEncode(toBeakerDict(this.meta, data), beaker));
    const payload = encodeCookiePayload({ meta: this.meta, data: dataCodec.encode(data) });
    return (cookieRing as KeyRing).seal(Buffer.from(payload, 'utf8'));
  }

  /** A cookie session removes nothing: deleting it is sending the deletion cookie. */
  protected removeStored(): Promise<void> {
    return Promise.resolve();
  }

  protected cookieToSend(): string | undefined {
    return this.#sealedCookie;
  }

  /** A digest of a digest of the id, as for a server-side session. */
  protected currentRef(): string {
    return cookieSessionRef(this.meta.id);
  }
}
