/**
 * Tags: groups of entries that `deleteByTag` and `expireByTag` invalidate at once, across namespaces, processes and
 * hosts, without a scan of the keyspace.
 *
 * Each tag has two tokens in its back-end (namespace {@link TAG_NAMESPACE}): one replaced by every `deleteByTag`, one
 * by every `expireByTag`. An entry records, for each of its tags, the tokens it was created under; a read compares
 * them with the current ones. A changed delete token means the entry is gone; a changed expire token means it is
 * stale (served stale while one caller creates it anew). The tokens are read before the value is created, so a value
 * computed while its tag was being invalidated counts as invalidated too, and a token lost from the store (an evicted
 * memcached item) invalidates its entries rather than reviving them.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { getEntries, type AnyBackend } from '../backends/contract.js';
import { BoundedMemo } from '../shared/bounded-memo.js';
import type { TagStamps } from './entry.js';

/** The namespace of the tag tokens in each back-end. */
export const TAG_NAMESPACE = 'beaker.cache.tags';

/** What a tag's tokens say of an entry stamped with older ones. */
export type TagVerdict = 'valid' | 'expired' | 'deleted';

/** Which invalidation a token records. */
export type TagInvalidation = 'deleted' | 'expired';

/** How many tags' token keys one {@link TagTokenKeys} remembers. */
const MAX_REMEMBERED_TAGS = 10_000;

function tokenKey(tag: string, invalidation: TagInvalidation): string {
  return `${invalidation}:${tag}`;
}

function tokenKeyPair(tag: string): readonly [deleted: string, expired: string] {
  return [tokenKey(tag, 'deleted'), tokenKey(tag, 'expired')];
}

/**
 * The store keys of tags' tokens, remembered per tag (at most {@link MAX_REMEMBERED_TAGS}): a read of a tagged entry
 * then builds no string and hands the store keys whose hash is already computed.
 */
export class TagTokenKeys {
  readonly #byTag = new BoundedMemo<string, readonly [string, string]>(MAX_REMEMBERED_TAGS);

  /** The keys of the delete token and the expire token of `tag`. */
  of(tag: string): readonly [deleted: string, expired: string] {
    return this.#byTag.valueOf(tag, tokenKeyPair);
  }
}

/** A stored token, or null for none; anything else stored there counts as a token nobody has stamped. */
function tokenOf(data: unknown): string | null {
  if (data === undefined || data === null) return null;
  return typeof data === 'string' ? data : 'unreadable';
}

/**
 * The current tokens of `tags`: synchronously from a store in this process, else in one read of the store.
 * An entry created now records these.
 */
export function currentStamps(
  backend: AnyBackend,
  tags: readonly string[],
  keys: TagTokenKeys,
): TagStamps | Promise<TagStamps> {
  if (backend.peek !== undefined) {
    const stamps: Record<string, readonly [string | null, string | null]> = {};
    for (const tag of tags) {
      const [deleted, expired] = keys.of(tag);
      stamps[tag] = [
        tokenOf(backend.peek(TAG_NAMESPACE, deleted)),
        tokenOf(backend.peek(TAG_NAMESPACE, expired)),
      ];
    }
    return stamps;
  }
  const storeKeys = tags.flatMap((tag) => keys.of(tag));
  return getEntries(backend, TAG_NAMESPACE, storeKeys).then((data) => {
    const stamps: Record<string, readonly [string | null, string | null]> = {};
    tags.forEach((tag, index) => {
      stamps[tag] = [tokenOf(data[2 * index]), tokenOf(data[2 * index + 1])];
    });
    return stamps;
  });
}

/** Compares an entry's stamps with the current tokens: a changed delete token wins over a changed expire token. */
export function verdictOf(stamped: TagStamps, current: TagStamps): TagVerdict {
  let verdict: TagVerdict = 'valid';
  for (const tag in stamped) {
    const now = current[tag];
    const then = stamped[tag];
    if (now === undefined || then === undefined) continue;
    if (now[0] !== then[0]) return 'deleted';
    if (now[1] !== then[1]) verdict = 'expired';
  }
  return verdict;
}

/**
 * What `stamped` says now: the entry's tags' current tokens read from its store and compared; synchronously, with no
 * object built, from a store in this process.
 */
export function tagVerdict(
  backend: AnyBackend,
  stamped: TagStamps,
  keys: TagTokenKeys,
): TagVerdict | Promise<TagVerdict> {
  if (backend.peek === undefined) {
    return (currentStamps(backend, Object.keys(stamped), keys) as Promise<TagStamps>).then((current) =>
      verdictOf(stamped, current),
    );
  }
  let verdict: TagVerdict = 'valid';
  for (const tag in stamped) {
    const then = stamped[tag];
    if (then === undefined) continue;
    const [deleted, expired] = keys.of(tag);
    if (tokenOf(backend.peek(TAG_NAMESPACE, deleted)) !== then[0]) return 'deleted';
    if (verdict === 'valid' && tokenOf(backend.peek(TAG_NAMESPACE, expired)) !== then[1]) verdict = 'expired';
  }
  return verdict;
}

/**
 * Invalidates every entry tagged `tag` in this store: replaces the tag's delete or expire token. The token is kept
 * with no expiry; an entry created afterwards records the new one.
 */
export async function invalidateTag(
  backend: AnyBackend,
  tag: string,
  invalidation: TagInvalidation,
): Promise<void> {
  const token = randomBytes(12).toString('base64url');
  await backend.set(TAG_NAMESPACE, tokenKey(tag, invalidation), token);
}

/** The tags of one write: the cache's own, then the call's, each once. */
export function mergedTags(
  own: readonly string[],
  call: readonly string[] | undefined,
): readonly string[] | undefined {
  if (call === undefined || call.length === 0) return own.length === 0 ? undefined : own;
  if (own.length === 0) return [...new Set(call)];
  return [...new Set([...own, ...call])];
}
