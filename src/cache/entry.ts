/**
 * A stored cache entry: the value plus its own metadata (when it was stored and for how long it is fresh), in one
 * envelope, so that expiry and serve-stale work the same on every back-end.
 * @module
 */
import type { DataSerializer } from '../config/index.js';
import { decodeTagged, encodeValueWithTags } from '../shared/codec.js';

/** Bumped when the stored layout changes, so old entries are recognised. */
export const ENTRY_FORMAT_VERSION = 1;

/** One cached value and its metadata. */
export interface CacheEntry {
  /** When the value was stored, in milliseconds since the epoch. */
  storedAt: number;
  /** Seconds the value stays fresh after `storedAt`; `null` keeps it fresh forever. */
  expire: number | null;
  /** The value. */
  value: unknown;
  /**
   * When the store may drop the entry, in ms since the epoch (`storedAt` plus the TTL given to the back-end, grace
   * included), recorded for back-ends without native TTL: the cache counts the entry as missing after it, whatever
   * the store returns. Absent: no TTL, or a store that expires entries itself.
   */
  hardExpiresAt?: number;
  /**
   * The entry's tags, each with the invalidation tokens it was stored under (see src/cache/tags.ts): when a tag's
   * token has changed since, the entry was invalidated by that tag. Absent: no tags.
   */
  tags?: TagStamps;
  /**
   * The end of the entry's serve-stale window, in ms since the epoch, when the store keeps it longer (for
   * `stale_if_error`): past it the expired value only answers for a creator that fails. Absent: it may be served
   * stale for as long as the store keeps it.
   */
  graceEndsAt?: number;
  /**
   * After a creation failed and the stale value was served instead (`stale_if_error`): no caller tries to create the
   * value again before this time, in ms since the epoch. Absent: no failed creation.
   */
  retryAt?: number;
}

/**
 * Each tag of an entry, with the tokens of its `deleteByTag` and `expireByTag` when the entry's value was read (a list,
 * not an object keyed by tag, so that any tag name is safe: `__proto__` too).
 */
export type TagStamps = readonly (readonly [tag: string, deleted: string, expired: string])[];

/**
 * Is the entry fresh at `clock()`? Entries stored before `starttime` (ms) count as expired, as in Beaker. The clock is
 * read only for an entry that expires.
 */
export function isFresh(entry: CacheEntry, clock: () => number, starttimeMs: number | null): boolean {
  if (starttimeMs !== null && entry.storedAt < starttimeMs) return false;
  return entry.expire === null || clock() < entry.storedAt + entry.expire * 1000;
}

/** Turns entries into text for back-ends that store text, and back. */
export interface EntryCodec {
  encode(entry: CacheEntry): string;
  /** Throws when the text is not an entry this codec wrote. */
  decode(text: string): CacheEntry;
}

interface StoredHeader {
  f: number;
  t: number;
  e: number | null;
  /** {@link CacheEntry.hardExpiresAt}, when recorded. */
  x?: number;
  /** {@link CacheEntry.tags}, when there are tags. */
  g?: TagStamps;
  /** {@link CacheEntry.retryAt}, when recorded. */
  y?: number;
  /** {@link CacheEntry.graceEndsAt}, when recorded. */
  w?: number;
  /** The value as text from a custom serializer. */
  s?: string;
  /** The value as base64 bytes from a custom serializer. */
  b?: string;
}

function isTagStamps(value: unknown): value is TagStamps {
  return (
    Array.isArray(value) &&
    value.every(
      (stamp) =>
        Array.isArray(stamp) && stamp.length === 3 && stamp.every((part) => typeof part === 'string'),
    )
  );
}

function checkHeader(parsed: unknown): StoredHeader {
  const header = parsed as Partial<StoredHeader> | null;
  if (
    typeof header !== 'object' ||
    header === null ||
    header.f !== ENTRY_FORMAT_VERSION ||
    typeof header.t !== 'number' ||
    (header.e !== null && typeof header.e !== 'number') ||
    (header.x !== undefined && typeof header.x !== 'number') ||
    (header.y !== undefined && typeof header.y !== 'number') ||
    (header.w !== undefined && typeof header.w !== 'number') ||
    (header.g !== undefined && !isTagStamps(header.g))
  ) {
    throw new TypeError('not a beaker-ts cache entry');
  }
  return header as StoredHeader;
}

/** The entry's metadata out of a checked header. */
function entryOf(header: StoredHeader, value: unknown): CacheEntry {
  const entry: CacheEntry = { storedAt: header.t, expire: header.e, value };
  if (header.x !== undefined) entry.hardExpiresAt = header.x;
  if (header.g !== undefined) entry.tags = header.g;
  if (header.y !== undefined) entry.retryAt = header.y;
  if (header.w !== undefined) entry.graceEndsAt = header.w;
  return entry;
}

// The default codec nests the tagged-JSON value after a fixed header, so one JSON.parse reads the whole entry.
// A value holding tags (Date, Map, ...) gets another prefix, so plain values are parsed without a reviver.
const PLAIN_PREFIX = `{"f":${ENTRY_FORMAT_VERSION},"t":`;
const TAGGED_PREFIX = `{"f":${ENTRY_FORMAT_VERSION},"r":1,"t":`;

/** The header fields an entry has only sometimes, as JSON members after its times (each with a leading comma). */
function optionalFields(entry: CacheEntry): string {
  let fields = entry.hardExpiresAt === undefined ? '' : `,"x":${entry.hardExpiresAt}`;
  if (entry.tags !== undefined) fields += `,"g":${JSON.stringify(entry.tags)}`;
  if (entry.retryAt !== undefined) fields += `,"y":${entry.retryAt}`;
  if (entry.graceEndsAt !== undefined) fields += `,"w":${entry.graceEndsAt}`;
  return fields;
}

/** The default entry codec: tagged JSON (Date, Map, Set, BigInt, Uint8Array kept). */
export const jsonEntryCodec: EntryCodec = {
  encode(entry) {
    const times = `${entry.storedAt},"e":${entry.expire === null ? 'null' : entry.expire}${optionalFields(entry)}`;
    // JSON has no undefined: a flag says the value is undefined, so a missing "v" always means a foreign entry.
    if (entry.value === undefined) return `${PLAIN_PREFIX}${times},"u":1}`;
    const { text, tagged } = encodeValueWithTags(entry.value);
    return `${tagged ? TAGGED_PREFIX : PLAIN_PREFIX}${times},"v":${text}}`;
  },
  decode(text) {
    const parsed = (
      text.startsWith(TAGGED_PREFIX) ? decodeTagged(text) : JSON.parse(text)
    ) as StoredHeader & {
      v?: unknown;
      u?: number;
    };
    const header = checkHeader(parsed);
    if ('v' in parsed) return entryOf(header, parsed.v);
    if (parsed.u === 1) return entryOf(header, undefined);
    throw new TypeError('cache entry without a value');
  },
};

/** An entry codec around a user's serializer (`data_serializer` with `dumps` and `loads`). */
export function serializerEntryCodec(serializer: DataSerializer): EntryCodec {
  return {
    encode(entry) {
      const data = serializer.dumps(entry.value);
      const header: StoredHeader = { f: ENTRY_FORMAT_VERSION, t: entry.storedAt, e: entry.expire };
      if (entry.hardExpiresAt !== undefined) header.x = entry.hardExpiresAt;
      if (entry.tags !== undefined) header.g = entry.tags;
      if (entry.retryAt !== undefined) header.y = entry.retryAt;
      if (entry.graceEndsAt !== undefined) header.w = entry.graceEndsAt;
      if (typeof data === 'string') header.s = data;
      else header.b = Buffer.from(data).toString('base64');
      return JSON.stringify(header);
    },
    decode(text) {
      const header = checkHeader(JSON.parse(text));
      const data =
        header.s ?? (header.b === undefined ? undefined : new Uint8Array(Buffer.from(header.b, 'base64')));
      if (data === undefined) throw new TypeError('cache entry without data');
      return entryOf(header, serializer.loads(data));
    },
  };
}
