/**
 * The SHA-256 digests back-ends use to name namespaces and keys. Namespaces are few and used on every call, so
 * their digests are remembered (a bounded map, emptied when full).
 * @module
 */
import { createHash } from 'node:crypto';

const MAX_REMEMBERED = 1000;
const namespaceDigests = new Map<string, string>();

/** The hex SHA-256 of `text`. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `compute(key)`, remembered in `memo` (which is emptied when it holds {@link MAX_REMEMBERED} values). */
export function remembered<V>(memo: Map<string, V>, key: string, compute: (key: string) => V): V {
  let value = memo.get(key);
  if (value === undefined) {
    if (memo.size >= MAX_REMEMBERED) memo.clear();
    value = compute(key);
    memo.set(key, value);
  }
  return value;
}

/** The hex SHA-256 of a namespace, remembered. */
export function namespaceDigest(namespace: string): string {
  return remembered(namespaceDigests, namespace, sha256Hex);
}
