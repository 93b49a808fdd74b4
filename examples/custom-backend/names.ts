/**
 * Names in the bucket. A NATS KV key allows only `[-/_=.a-zA-Z0-9]`, and its dots separate subject tokens (which
 * `clear()` filters on), while a namespace or a key may be any string. Each one becomes a single token of base64url
 * characters, whose first letter says how it was made:
 *
 * - `b` + base64url of its UTF-8;
 * - `u` + base64url of its UTF-16 code units, for a string UTF-8 cannot carry (a lone surrogate would otherwise
 *   turn into U+FFFD and share the token of a string that has U+FFFD);
 * - `h` + base64url of the SHA-256 of the above, when that is longer than {@link MAX_ENCODED}.
 *
 * Each form maps different strings to different tokens and the forms start with different letters, so two strings
 * never share a token but by a SHA-256 collision, and even then a read compares the key kept in the entry.
 * @module
 */
import { createHash } from 'node:crypto';

/** Tokens longer than this are digested: a NATS subject travels in a protocol line of at most 4 KB. */
const MAX_ENCODED = 256;

/** Every entry's key starts with this; every lock's with {@link LOCK_PREFIX}. */
export const ENTRY_PREFIX = 'e.';

/** The creation locks' keys: `l.` + 40 hex digits of the lock's name (the kit's LeaseLockProvider makes them). */
export const LOCK_PREFIX = 'l.';

/** The token of one namespace or key. */
export function tokenOf(text: string): string {
  const utf8 = Buffer.from(text, 'utf8');
  const exact = utf8.toString('utf8') === text;
  const form = exact ? 'b' : 'u';
  const encoded = (exact ? utf8 : Buffer.from(text, 'utf16le')).toString('base64url');
  if (encoded.length <= MAX_ENCODED) return `${form}${encoded}`;
  return `h${createHash('sha256').update(form).update(encoded).digest('base64url')}`;
}

/** The KV key filter that matches every entry of `namespace`. */
export function namespaceFilter(namespace: string): string {
  return `${ENTRY_PREFIX}${tokenOf(namespace)}.>`;
}

/** The KV key of the entry (`namespace`, `key`). */
export function entryKeyOf(namespace: string, key: string): string {
  return `${ENTRY_PREFIX}${tokenOf(namespace)}.${tokenOf(key)}`;
}
