/**
 * Keys of cached functions: a canonical, type-tagged encoding of the arguments, so `f(1)` and `f("1")`, or
 * `f("a b")` and `f("a", "b")`, never share a key; keys longer than `key_length` bytes become a SHA-256 digest.
 * @module
 */
import { createHash } from 'node:crypto';
import { BoundedMap } from '../shared/bounded-map.js';
import { encodeValue, UnencodableValueError } from '../shared/codec.js';

/** Keys whose namespace plus key exceed this many UTF-8 bytes are hashed (Beaker's default). */
export const DEFAULT_KEY_LENGTH = 250;

/** How many calls' keys one cached function remembers ({@link CallKeys}). */
export const MAX_MEMOISED_CALL_KEYS = 10_000;

/**
 * The longest string argument whose key {@link CallKeys} remembers, in UTF-16 code units: with the count above, this
 * bounds what one cached function's memo can hold (a few MB at worst). Ids, slugs and UUIDs fit.
 */
export const MAX_MEMOISED_STRING_LENGTH = 64;

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Sorts plain objects' keys (so `{a, b}` and `{b, a}` give one key) and refuses values with no stable identity. */
function canonical(value: unknown): unknown {
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw new UnencodableValueError(
      `a ${typeof value} cannot be part of a cache key; use the { key } option to choose what identifies a call`,
    );
  }
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Date || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map(canonical);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [canonical(k), canonical(v)]));
  if (value instanceof Set) return new Set([...value].map(canonical));
  if (!isPlainObject(value)) {
    throw new UnencodableValueError(
      `an instance of ${value.constructor.name} cannot be part of a cache key; ` +
        'use the { key } option to choose what identifies a call',
    );
  }
  const record = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((key) => [key, canonical(record[key])]),
  );
}

/** Is `value` encoded by JSON alone exactly as {@link canonical} and the codec would encode it? */
function isPlainScalar(value: unknown): value is string | number | boolean | null {
  return typeof value === 'string' || typeof value === 'boolean' || value === null || Number.isFinite(value);
}

/** The key of one call: the decorator's key parts, then the call's arguments, canonically encoded. */
export function functionKey(keyParts: readonly unknown[], args: readonly unknown[]): string {
  let end = args.length;
  while (end > 0 && args[end - 1] === undefined) end -= 1;
  // Most calls pass strings and numbers: their JSON array is written directly, as the codec would write it.
  let key = '[';
  for (let index = 0; index < keyParts.length + end; index += 1) {
    const part = index < keyParts.length ? keyParts[index] : args[index - keyParts.length];
    if (!isPlainScalar(part)) return encodeValue(canonical([...keyParts, ...args.slice(0, end)]));
    if (index > 0) key += ',';
    // String() of a finite number, a boolean or null is its JSON (-0 included: "0").
    key += typeof part === 'string' ? JSON.stringify(part) : String(part);
  }
  return `${key}]`;
}

/** A value {@link CallKeys} can remember the key of: a plain scalar, keyed in a `Map` by SameValueZero. */
type MemoisableArgument = string | number | boolean | null;

/**
 * Is `args` a single argument whose key {@link CallKeys} may remember? Only plain scalars, whose key depends on the
 * value alone: a `Map` tells 1 from "1" and true from "true", and the one value it equates with another, -0 with 0,
 * has the same key ("0"). Long strings are left out so that the memo stays small.
 */
function memoisableArgument(args: readonly unknown[]): args is readonly [MemoisableArgument] {
  if (args.length !== 1) return false;
  const argument = args[0];
  return (
    isPlainScalar(argument) && (typeof argument !== 'string' || argument.length <= MAX_MEMOISED_STRING_LENGTH)
  );
}

/**
 * The stored keys of one cached function's calls, in one namespace: {@link functionKey} then {@link limitKeyLength},
 * as always, but remembered for calls with one scalar argument (`loadUser(42)`), the most common kind. A hit then
 * builds no string, and hands the store the very string it stored under, whose hash V8 has already computed, rather
 * than a new one to hash. The memo only saves work: a remembered key is the key the derivation gives, and at most
 * {@link MAX_MEMOISED_CALL_KEYS} are kept (the oldest is forgotten first; its next call derives it again).
 */
export class CallKeys {
  readonly #namespace: string;
  readonly #keyParts: readonly unknown[];
  readonly #keyLength: number;
  readonly #byArgument = new BoundedMap<MemoisableArgument, string>(MAX_MEMOISED_CALL_KEYS);
  /** The derivation of a one-argument call's key, made once rather than per call. */
  readonly #deriveOne = (argument: MemoisableArgument): string => this.#derive([argument]);

  constructor(namespace: string, keyParts: readonly unknown[], keyLength: number) {
    this.#namespace = namespace;
    this.#keyParts = keyParts;
    this.#keyLength = keyLength;
  }

  /** The stored key of a call with `args` (the arguments, or what the function's `key` option chose from them). */
  keyOf(args: readonly unknown[]): string {
    if (!memoisableArgument(args)) return this.#derive(args);
    return this.#byArgument.valueOf(args[0], this.#deriveOne);
  }

  /** How many calls' keys are remembered now (at most {@link MAX_MEMOISED_CALL_KEYS}). */
  get size(): number {
    return this.#byArgument.size;
  }

  #derive(args: readonly unknown[]): string {
    return limitKeyLength(this.#namespace, functionKey(this.#keyParts, args), this.#keyLength);
  }
}

/** Replaces a key by its SHA-256 digest when namespace and key together exceed `keyLength` UTF-8 bytes. */
export function limitKeyLength(namespace: string, key: string, keyLength: number): string {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short keys need no byte count.
  if ((namespace.length + key.length) * 3 <= keyLength) return key;
  if (Buffer.byteLength(namespace) + Buffer.byteLength(key) <= keyLength) return key;
  return `sha256:${createHash('sha256').update(key).digest('base64url')}`;
}
