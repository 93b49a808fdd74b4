/**
 * What every session of one manager shares, resolved once by the manager from the options: the settings both kinds
 * of session read, and what only server-side or only cookie sessions need.
 * @module
 */
import type { BackendEvent } from '../backends/contract.js';
import type { CookieAttributes } from './cookies.js';
import type { CookieRevocations } from './cookie-revocations.js';
import type { BeakerEncoding, KeyRing } from './crypto.js';
import type { DataCodec } from './format.js';
import type { SessionRecords } from './session-records.js';
import type { UserIndex } from './user-index.js';

/** A problem reported without failing the request. */
export interface SessionEvent {
  /**
   * `store-error`: the store failed an operation, which fails the request with a {@link SessionStoreError}.
   * `revoked-session`: a cookie session was refused as revoked (`revocation_store`); a new session replaces it.
   */
  type: 'corrupt-session' | 'lock-timeout' | 'store-error' | 'revoked-session' | BackendEvent['type'];
  message: string;
  error?: unknown;
}

/** The settings of every session, whatever keeps its data. */
export interface SessionSettings {
  cookieName: string;
  useCookies: boolean;
  attributes: CookieAttributes;
  cookieExpires: boolean | number | Date;
  timeoutMs: number | null;
  absoluteTimeoutMs: number | null;
  touchIntervalMs: number | null;
  auto: boolean;
  /** With `auto`, a new session the request only read is stored too (`auto_save_empty`). */
  autoSaveEmpty: boolean;
  invalidateCorrupt: boolean;
  forcedId: string | undefined;
  dataCodec: DataCodec;
  clock: () => number;
  report: (event: SessionEvent) => void;
  newId: () => string;
}

/** The settings of sessions kept in a back-end, the cookie holding only their signed id. */
export interface ServerSessionSettings extends SessionSettings {
  /** Set for `crypto_type = cryptography | pycrypto`: ids are signed the way Beaker signs them. */
  beaker: BeakerEncoding | undefined;
  beakerSecrets: readonly string[];
  idRing: KeyRing | undefined;
  dataRing: KeyRing | undefined;
  /** The store of the sessions, and the locks of their records. */
  records: SessionRecords;
  /** The index of the sessions of each user (`setUser`), in the same store. */
  userIndex: UserIndex;
  /** The largest stored record a save writes, in bytes (`max_size`); null: no limit. */
  maxSizeBytes: number | null;
  /** Records are stored under the digest of their id (`hash_ids`), not the id itself. */
  hashIds: boolean;
  /** With `hashIds`: a record not found under its digest is looked for under its raw id, and moved (`migrate_raw_ids`). */
  migrateRawIds: boolean;
}

/** The settings of sessions kept entirely in their cookie. */
export interface CookieSessionSettings extends SessionSettings {
  /** Set for `crypto_type = cryptography | pycrypto`: Beaker's cookie format. */
  beaker: BeakerEncoding | undefined;
  beakerValidateKeys: readonly string[];
  /** With `beaker`: every `encrypt_key`, newest first (the newest seals, each is tried to open). */
  beakerEncryptKeys: readonly string[];
  /** Seals beaker-ts's cookie format; set whenever `beaker` is not. */
  cookieRing: KeyRing | undefined;
  /** The revocation list checked on load (`revocation_store`); undefined: cookie sessions are never revoked. */
  revocations: CookieRevocations | undefined;
}
