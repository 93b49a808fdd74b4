/**
 * The keys server-side sessions are stored under, and the labels and references that name them without their ids.
 * @module
 */
import { hash } from 'node:crypto';

/**
 * The key a session id is stored under when ids are hashed at rest: the SHA-256 of the id, in hex (64 digits, so it is
 * never mistaken for a raw id of 32). An id is 128 random bits: its digest cannot be turned back into a usable id, so
 * a copy of the store holds no session anyone can present.
 */
export function hashedSessionKey(id: string): string {
  return hash('sha256', id, 'hex');
}

/**
 * The reference of the session stored under `storeKey`, as `sessionsOf` lists it and `revoke` takes it: a digest of
 * the key (itself a digest of the id), so that it can be shown in a page or a log and is no use as a cookie.
 */
export function sessionRef(storeKey: string): string {
  return hashedSessionKey(`ref:${storeKey}`).slice(0, 32);
}

/** A short label for the session stored under `storeKey`, for messages and logs: the start of its reference. */
export function sessionHint(storeKey: string): string {
  return sessionRef(storeKey).slice(0, 8);
}

/** The reference of a cookie session, as of a server-side one: the reference of its id's hashed key. */
export function cookieSessionRef(id: string): string {
  return sessionRef(hashedSessionKey(id));
}
