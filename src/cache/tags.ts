/**
 * Tags: groups of entries that `deleteByTag` and `expireByTag` invalidate at once, across namespaces, processes and
 * hosts, without a scan of the keyspace.
 *
 * Each tag has two tokens in its back-end (namespace {@link TAG_NAMESPACE}): one replaced by every `deleteByTag`, one
 * by every `expireByTag`, and made at the first write of an entry with the tag. An entry records, for each of its
 * tags, the tokens it was created under; a read compares them with the current ones. A changed delete token means the
 * entry is gone; a changed expire token means it is stale (served stale while one caller creates it anew). The
 * tokens are read before the value is created, so a value computed while its tag was being invalidated counts as
 * invalidated too; and since an entry never records a missing token, a token lost from the store (an evicted
 * memcached item, an LRU bound) invalidates its entries rather than reviving them.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { getEntries, type AnyBackend } from '../backends/contract.js';
import { BoundedMap } from '../shared/bounded-map.js';
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
  readonly #byTag = new BoundedMap<string, readonly [string, string]>(MAX_REMEMBERED_TAGS);

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

function newToken(): string {
  return randomBytes(12).toString('base64url');
}

/** The current tokens of `tags`, in pairs (delete, then expire, of each tag): in one read of the store. */
async function currentTokens(
  backend: AnyBackend,
  tags: readonly string[],
  keys: TagTokenKeys,
): Promise<(string | null)[]> {
  const data = await getEntries(
    backend,
    TAG_NAMESPACE,
    tags.flatMap((tag) => keys.of(tag)),
  );
  return data.map(tokenOf);
}

/**
 * The token a missing one is made as, at `now` (ms): the same for every writer within one second, so that writers
 * that find it missing at once agree on it, and different from a token made in any other second, so that a token lost
 * from the store and made again does not match the entries stamped with the lost one.
 */
function firstToken(now: number): string {
  return `first:${Math.floor(now / 1000)}`;
}

/**
 * What an entry created now records: the current tokens of `tags`, a missing one made first (so that its loss from
 * the store later reads as a change). Writers that make the same missing token within one second make the same one;
 * two that straddle a second each record their own, and the one overwritten reads as invalidated: a miss, never a
 * stale answer.
 */
export async function stampsForWrite(
  backend: AnyBackend,
  tags: readonly string[],
  keys: TagTokenKeys,
  now: number,
): Promise<TagStamps> {
  const tokens = await currentTokens(backend, tags, keys);
  const writes: Promise<void>[] = [];
  const made = (key: string): string => {
    const first = firstToken(now);
    writes.push(backend.set(TAG_NAMESPACE, key, first));
    return first;
  };
  const stamps = tags.map((tag, index): readonly [string, string, string] => {
    const [deletedKey, expiredKey] = keys.of(tag);
    return [tag, tokens[2 * index] ?? made(deletedKey), tokens[2 * index + 1] ?? made(expiredKey)];
  });
  await Promise.all(writes);
  return stamps;
}

/** The current tokens of some tags, by tag: what {@link verdictOf} compares entries with. */
export type CurrentTokens = ReadonlyMap<string, readonly [string | null, string | null]>;

/** The current tokens of `tags`, read once for the entries of a batch. */
export async function tokensOf(
  backend: AnyBackend,
  tags: readonly string[],
  keys: TagTokenKeys,
): Promise<CurrentTokens> {
  const tokens = await currentTokens(backend, tags, keys);
  return new Map(tags.map((tag, index) => [tag, [tokens[2 * index] ?? null, tokens[2 * index + 1] ?? null]]));
}

/** Compares an entry's stamps with the current tokens: a changed delete token wins over a changed expire token. */
export function verdictOf(stamped: TagStamps, current: CurrentTokens): TagVerdict {
  let verdict: TagVerdict = 'valid';
  for (const [tag, deleted, expired] of stamped) {
    const now = current.get(tag);
    if (now === undefined || now[0] !== deleted) return 'deleted';
    if (now[1] !== expired) verdict = 'expired';
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
    return tokensOf(
      backend,
      stamped.map(([tag]) => tag),
      keys,
    ).then((current) => verdictOf(stamped, current));
  }
  let verdict: TagVerdict = 'valid';
  for (const [tag, deleted, expired] of stamped) {
    const [deletedKey, expiredKey] = keys.of(tag);
    if (tokenOf(backend.peek(TAG_NAMESPACE, deletedKey)) !== deleted) return 'deleted';
    if (verdict === 'valid' && tokenOf(backend.peek(TAG_NAMESPACE, expiredKey)) !== expired)
      verdict = 'expired';
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
  await backend.set(TAG_NAMESPACE, tokenKey(tag, invalidation), newToken());
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
