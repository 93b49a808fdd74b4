/**
 * The default value codec: JSON that keeps `Date`, `Map`, `Set`, `BigInt`, `Uint8Array`, `undefined` and non-finite
 * numbers as themselves. Special values become tagged objects `{"$beaker": type, "v": data}`; a plain object that
 * itself has a `$beaker` key is escaped, so no user value is ever mistaken for a tag. Decoding never runs code.
 * @module
 */
import { UnencodableValueError } from './errors.js';

const TAG = '$beaker';
const TAG_MARKER = `"${TAG}"`;

type Tagged = { [TAG]: string; v?: unknown };

function tag(type: string, v?: unknown): Tagged {
  return v === undefined ? { [TAG]: type } : { [TAG]: type, v };
}

export { UnencodableValueError };

/** Set while encoding when a tag was written, so callers can record that decoding needs the reviver. */
let taggedDuringEncode = false;

function encodeSpecial(holder: unknown, key: string, value: unknown): unknown {
  const encoded = encodeOne(holder, key, value);
  if (encoded !== value && typeof encoded === 'object' && encoded !== null) taggedDuringEncode = true;
  return encoded;
}

function encodeOne(holder: unknown, key: string, value: unknown): unknown {
  // JSON.stringify has already called Date#toJSON: the original is still on the holder.
  const original = (holder as Record<string, unknown>)[key];
  if (original instanceof Date) {
    return tag('Date', Number.isNaN(original.getTime()) ? null : original.toISOString());
  }
  switch (typeof value) {
    case 'bigint':
      return tag('BigInt', value.toString());
    case 'number':
      return Number.isFinite(value) ? value : tag('Number', String(value));
    case 'undefined':
      // In arrays JSON turns undefined into null; keep it undefined.
      return Array.isArray(holder) ? tag('undefined') : undefined;
    case 'object': {
      if (value === null) return null;
      if (value instanceof Map) return tag('Map', [...value.entries()]);
      if (value instanceof Set) return tag('Set', [...value.values()]);
      if (value instanceof Uint8Array) return tag('Uint8Array', Buffer.from(value).toString('base64'));
      if (!Array.isArray(value) && Object.hasOwn(value, TAG)) return tag('Object', Object.entries(value));
      return value;
    }
    default:
      return value;
  }
}

/** Deeper values take the general path, which also reports cycles. */
const MAX_PLAIN_DEPTH = 32;

/**
 * Whether JSON.stringify alone encodes `value` exactly as the tagging replacer would: strings, finite numbers,
 * booleans, null, arrays of those, and plain objects without a `$beaker` key or `toJSON`.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (depth >= MAX_PLAIN_DEPTH) return false;
      if (Array.isArray(value)) {
        // An index loop, not every(): a hole must reach the general path (it is kept as undefined there).
        for (let index = 0; index < value.length; index += 1) {
          if (!isPlainJson(value[index], depth + 1)) return false;
        }
        return true;
      }
      const prototype = Object.getPrototypeOf(value) as unknown;
      if (prototype !== Object.prototype && prototype !== null) return false;
      if (Object.hasOwn(value, TAG) || Object.hasOwn(value, 'toJSON')) return false;
      for (const item of Object.values(value)) {
        // JSON drops undefined properties, as the tagging replacer does.
        if (item !== undefined && !isPlainJson(item, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

// A tag's payload is checked to be of the kind the encoder writes: a stored entry is untrusted input, and a payload
// of another kind could cost far more than its own size (`{"length": 2e9}` given to `Buffer.from` allocates 2 GB).
function stringPayload(type: string, v: unknown): string {
  if (typeof v !== 'string') throw new TypeError(`A cached ${type} must hold a string`);
  return v;
}

function arrayPayload(type: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new TypeError(`A cached ${type} must hold an array`);
  return v;
}

function decodeSpecial(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !Object.hasOwn(value, TAG)) return value;
  const { [TAG]: type, v } = value as Tagged;
  switch (type) {
    case 'Date':
      return new Date(typeof v === 'string' ? v : NaN);
    case 'BigInt':
      return BigInt(stringPayload(type, v));
    case 'Number':
      return Number(stringPayload(type, v));
    case 'undefined':
      return undefined;
    case 'Map':
      return new Map(arrayPayload(type, v) as [unknown, unknown][]);
    case 'Set':
      return new Set(arrayPayload(type, v));
    case 'Uint8Array':
      return new Uint8Array(Buffer.from(stringPayload(type, v), 'base64'));
    case 'Object':
      return Object.fromEntries(arrayPayload(type, v) as [string, unknown][]);
    default:
      throw new TypeError(`Unknown tag ${JSON.stringify(type)} in a cached value`);
  }
}

/** Encodes a value as tagged JSON text. */
export function encodeValue(value: unknown): string {
  return encodeValueWithTags(value).text;
}

/** Encodes a value as tagged JSON text, and tells whether it holds tags (decoding then needs the reviver). */
export function encodeValueWithTags(value: unknown): { text: string; tagged: boolean } {
  // Most cached values are plain JSON: JSON.stringify without a replacer is several times faster.
  if (isPlainJson(value, 0)) return { text: JSON.stringify(value), tagged: false };
  let text: string | undefined;
  taggedDuringEncode = false;
  try {
    text = JSON.stringify({ v: value }, function replacer(this: unknown, key, item: unknown) {
      return encodeSpecial(this, key, item);
    });
  } catch (error) {
    throw new UnencodableValueError(error instanceof Error ? error.message : String(error), { cause: error });
  }
  // The wrapper object keeps top-level undefined and Dates under the same rules as nested ones.
  const inner = text.slice(5, -1);
  return inner === ''
    ? { text: JSON.stringify(tag('undefined')), tagged: true }
    : { text: inner, tagged: taggedDuringEncode };
}

/**
 * A copy of a value whose `isPlainJson` check passed, equal to what a round trip through JSON would give:
 * `-0` becomes `0`, undefined properties are dropped, every object gets `Object.prototype`.
 */
function copyPlainJson(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return Object.is(value, -0) ? 0 : value;
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array<unknown>(value.length);
    for (let index = 0; index < value.length; index += 1) copy[index] = copyPlainJson(value[index]);
    return copy;
  }
  const source = value as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(source)) {
    const item = source[key];
    if (item === undefined) continue;
    // An own "__proto__" key (JSON.parse makes one) must stay a key, not become the copy's prototype.
    if (key === '__proto__') {
      Object.defineProperty(copy, key, {
        value: copyPlainJson(item),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      copy[key] = copyPlainJson(item);
    }
  }
  return copy;
}

/** A value kept as tagged text by {@link keepCopy}: it holds what plain JSON cannot (Date, Map, BigInt, ...). */
class EncodedCopy {
  constructor(readonly text: string) {}
}

declare const keptCopy: unique symbol;
/** What {@link keepCopy} returns: opaque, for {@link readCopy} only. */
export interface KeptCopy {
  readonly [keptCopy]: true;
}

/**
 * Keeps a private copy of `value` for an in-process store that hands out copies: a plain JSON graph is copied as
 * it is (reading it back is then a copy, cheaper than parsing text), anything else is kept as tagged text. Throws
 * {@link UnencodableValueError} for a value the codec cannot encode, as {@link encodeValue} does.
 */
export function keepCopy(value: unknown): KeptCopy {
  if (isPlainJson(value, 0)) return copyPlainJson(value) as KeptCopy;
  return new EncodedCopy(encodeValue(value)) as unknown as KeptCopy;
}

/**
 * A copy of a graph {@link copyPlainJson} made: already without `-0` and undefined properties, so objects are
 * copied by spreading (V8 copies a whole shape at once) and only their object values are walked.
 */
function copyKept(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const copy = value.slice();
    for (let index = 0; index < copy.length; index += 1) {
      const item: unknown = copy[index];
      if (typeof item === 'object' && item !== null) copy[index] = copyKept(item);
    }
    return copy;
  }
  // Spreading defines an own "__proto__" key as a key, as JSON.parse does.
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const key in copy) {
    const item = copy[key];
    // Own keys only: an enumerable property someone added to Object.prototype is not the value's.
    if (typeof item === 'object' && item !== null && Object.hasOwn(copy, key)) copy[key] = copyKept(item);
  }
  return copy;
}

/** A fresh copy of what {@link keepCopy} kept: equal to `decodeValue(encodeValue(value))` of the original value. */
export function readCopy(kept: KeptCopy): unknown {
  return kept instanceof EncodedCopy ? decodeValue(kept.text) : copyKept(kept);
}

/** Decodes tagged JSON text made by {@link encodeValue}. Plain JSON takes the fast path. */
export function decodeValue(text: string): unknown {
  return text.includes(TAG_MARKER) ? decodeTagged(text) : JSON.parse(text);
}

/** Decodes text known to hold tags. */
export function decodeTagged(text: string): unknown {
  return JSON.parse(text, decodeSpecial);
}
