/**
 * How session state is written: server-side records and cookie payloads, in beaker-ts's format or Beaker's.
 * @module
 */
import type { DataSerializer } from '../config/index.js';
import { decodeValue, encodeValue } from '../shared/codec.js';

/** What an application keeps about a session next to its user (`setUser`): a few short values, a user agent say. */
export type SessionUserInfo = Record<string, string | number | boolean | null>;

/** Session state as beaker-ts keeps it, apart from the user's data. */
export interface SessionMeta {
  id: string;
  /** Created, ms since the epoch. */
  created: number;
  /** Last access recorded, ms since the epoch. */
  accessed: number;
  /** A domain or path set at run time ("sticks" to the session, as in Beaker). */
  domain?: string;
  path?: string;
  /** When the cookie last sent expires (sliding `cookie_expires`), ms since the epoch. */
  cookieExpires?: number;
  /** The user the session is bound to (`setUser`). */
  user?: string;
  /** What the application keeps about the session with its user. */
  userInfo?: SessionUserInfo;
  /** When the session was bound to its user, ms since the epoch (cookie sessions revoked "before" a time). */
  userSince?: number;
  /**
   * Server-side sessions: until when the user index keeps this session's entry (null: for good); undefined while it
   * is not indexed under its current id.
   */
  indexedUntil?: number | null;
}

/**
 * Session data: a null-prototype object, so keys such as `__proto__` are plain keys (or, straight from a decoder,
 * an object JSON.parse made, whose keys are all its own: `TrackedData` copies it before anything can change it).
 */
export type DataRecord = Record<string, unknown>;

/** Copies `source` into a null-prototype object. */
export function toSessionData(source: unknown): DataRecord {
  const data = Object.create(null) as DataRecord;
  if (typeof source !== 'object' || source === null || Array.isArray(source)) return data;
  const record = source as DataRecord;
  for (const key of Object.keys(record)) data[key] = record[key];
  return data;
}

/** Turns the user's data into text and back: tagged JSON by default, or the configured serializer. */
export interface DataCodec {
  encode(data: DataRecord): string;
  decode(text: string): DataRecord;
}

/**
 * The default codec. It decodes to the object JSON.parse made when that is a plain object (it has only its own
 * keys, `__proto__` among them as a plain key), without a copy: a session keeps it unshared, and copies it into a
 * null-prototype object before any change or any look at it as a whole (see `TrackedData`).
 */
export const jsonDataCodec: DataCodec = {
  encode: (data) => encodeValue({ ...data }),
  decode: (text) => {
    const value = decodeValue(text);
    return isParsedObject(value) ? value : toSessionData(value);
  },
};

/** Is `value` an object as JSON.parse makes them (not an array, not a tagged value such as a Map)? */
function isParsedObject(value: unknown): value is DataRecord {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

export function serializerDataCodec(serializer: DataSerializer): DataCodec {
  return {
    encode(data) {
      const out = serializer.dumps({ ...data });
      return typeof out === 'string' ? `s${out}` : `b${Buffer.from(out).toString('base64')}`;
    },
    decode(text) {
      const body = text.slice(1);
      return toSessionData(
        serializer.loads(text.startsWith('b') ? new Uint8Array(Buffer.from(body, 'base64')) : body),
      );
    },
  };
}

/** A stored server-side record. */
export interface StoredRecord {
  meta: Omit<SessionMeta, 'id'>;
  /** Bumped by every write: a save that finds another number merges instead of overwriting. */
  version: number;
  /** The encoded (and, with `encrypt_key`, sealed) data. */
  data: string;
}

interface RecordJson {
  f: 1;
  n: number;
  c: number;
  a: number;
  dm?: string;
  p?: string;
  ce?: number;
  u?: string;
  ui?: SessionUserInfo;
  us?: number;
  ix?: number | null;
  d: string;
}

export function encodeRecord(record: StoredRecord): string {
  const { created, accessed, domain, path, cookieExpires, user, userInfo, userSince, indexedUntil } =
    record.meta;
  const json: RecordJson = { f: 1, n: record.version, c: created, a: accessed, d: record.data };
  if (domain !== undefined) json.dm = domain;
  if (path !== undefined) json.p = path;
  if (cookieExpires !== undefined) json.ce = cookieExpires;
  if (user !== undefined) json.u = user;
  if (userInfo !== undefined) json.ui = userInfo;
  if (userSince !== undefined) json.us = userSince;
  if (indexedUntil !== undefined) json.ix = indexedUntil;
  return JSON.stringify(json);
}

/** Copies the user fields of a decoded record or payload into `meta`. */
function decodeUserFields(json: Partial<RecordJson>, meta: SessionMeta): void {
  if (typeof json.u !== 'string') return;
  meta.user = json.u;
  if (typeof json.ui === 'object' && json.ui !== null && !Array.isArray(json.ui)) meta.userInfo = json.ui;
  if (typeof json.us === 'number') meta.userSince = json.us;
}

/** A record read back: its meta (with the id it is stored under), version and encoded data. */
export interface DecodedRecord {
  meta: SessionMeta;
  version: number;
  data: string;
}

/** Decodes the record stored under `id` (one parse, one meta object, which the caller may keep). */
export function decodeRecord(text: string, id: string): DecodedRecord {
  const json = JSON.parse(text) as Partial<RecordJson> | null;
  if (
    json?.f !== 1 ||
    typeof json.c !== 'number' ||
    typeof json.a !== 'number' ||
    typeof json.d !== 'string'
  ) {
    throw new TypeError('not a beaker-ts session record');
  }
  const meta: SessionMeta = { id, created: json.c, accessed: json.a };
  if (typeof json.dm === 'string') meta.domain = json.dm;
  if (typeof json.p === 'string') meta.path = json.p;
  if (typeof json.ce === 'number') meta.cookieExpires = json.ce;
  if (json.u !== undefined) {
    decodeUserFields(json, meta);
    if (typeof json.ix === 'number' || json.ix === null) meta.indexedUntil = json.ix;
  }
  return { meta, version: typeof json.n === 'number' ? json.n : 0, data: json.d };
}

/** The sealed payload of a beaker-ts cookie session. */
export interface CookiePayload {
  meta: SessionMeta;
  data: string;
}

export function encodeCookiePayload(payload: CookiePayload): string {
  const { id, created, accessed, domain, path, cookieExpires, user, userInfo, userSince } = payload.meta;
  return JSON.stringify({
    i: id,
    c: created,
    a: accessed,
    dm: domain,
    p: path,
    ce: cookieExpires,
    u: user,
    ui: userInfo,
    us: userSince,
    d: payload.data,
  });
}

export function decodeCookiePayload(text: string): CookiePayload {
  const json = JSON.parse(text) as Record<string, unknown> | null;
  if (
    typeof json?.i !== 'string' ||
    typeof json.c !== 'number' ||
    typeof json.a !== 'number' ||
    typeof json.d !== 'string'
  ) {
    throw new TypeError('not a beaker-ts cookie session');
  }
  const meta: SessionMeta = { id: json.i, created: json.c, accessed: json.a };
  if (typeof json.dm === 'string') meta.domain = json.dm;
  if (typeof json.p === 'string') meta.path = json.p;
  if (typeof json.ce === 'number') meta.cookieExpires = json.ce;
  if (json.u !== undefined) decodeUserFields(json, meta);
  return { meta, data: json.d };
}

const BEAKER_KEYS = ['_id', '_creation_time', '_accessed_time', '_domain', '_path'];

/** Beaker's session dict: the user's data with `_id`, `_creation_time`, `_accessed_time` (seconds), `_domain`, `_path`. */
export function toBeakerDict(meta: SessionMeta, data: DataRecord): Record<string, unknown> {
  return {
    ...data,
    _id: meta.id,
    _creation_time: meta.created / 1000,
    _accessed_time: meta.accessed / 1000,
    _domain: meta.domain ?? null,
    _path: meta.path ?? '/',
  };
}

/** Splits Beaker's session dict into beaker-ts meta and data. */
export function fromBeakerDict(
  dict: unknown,
  fallbackId: string,
  now: number,
): { meta: SessionMeta; data: DataRecord } {
  const source = toSessionData(dict);
  const seconds = (value: unknown): number | undefined =>
    typeof value === 'number' ? value * 1000 : undefined;
  const meta: SessionMeta = {
    id: typeof source._id === 'string' ? source._id : fallbackId,
    created: seconds(source._creation_time) ?? now,
    accessed: seconds(source._accessed_time) ?? now,
  };
  if (typeof source._domain === 'string') meta.domain = source._domain;
  if (typeof source._path === 'string' && source._path !== '/') meta.path = source._path;
  const data = toSessionData(source);
  for (const key of BEAKER_KEYS) Reflect.deleteProperty(data, key);
  return { meta, data };
}
