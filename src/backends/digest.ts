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

/** The hex SHA-256 of a namespace, remembered. */
export function namespaceDigest(namespace: string): string {
  let digest = namespaceDigests.get(namespace);
  if (digest === undefined) {
    if (namespaceDigests.size >= MAX_REMEMBERED) namespaceDigests.clear();
    digest = sha256Hex(namespace);
    namespaceDigests.set(namespace, digest);
  }
  return digest;
}
