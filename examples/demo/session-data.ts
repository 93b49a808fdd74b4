/**
 * What the demo keeps in its session, and the helpers that read and write it: flash messages shown once, the CSRF
 * token every form carries, and a record of the last Set-Cookie the adapter sent (the cookie itself is HttpOnly, so
 * the page cannot read it from the browser).
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Session } from '../../src/index.js';

/** A message for the next page, shown once. */
export interface Flash {
  kind: 'success' | 'info';
  text: string;
}

/** The attributes of a Set-Cookie header, without its value (a bearer credential). */
export interface SentCookie {
  name: string;
  /** The first characters of the value, enough to see that it changed. */
  valuePrefix: string;
  valueLength: number;
  /** Attribute name and value (`true` for a flag such as HttpOnly), in the order sent. */
  attributes: [string, string | true][];
  /** ISO time the response carrying it was built. */
  sentAt: string;
}

/** The outcome of one dog-pile run, kept in the session so the page after the POST can show it. */
export interface RaceRun {
  at: string;
  requests: number;
  /** Was the key removed before the run (a cold start)? */
  reset: boolean;
  /** How many responses said their request ran the creation function. */
  created: number;
  workers: { pid: number; served: number; created: number }[];
  /** The values the responses carried, by creator pid and time: one entry when every caller got the same value. */
  values: { createdBy: number; createdAt: string; count: number }[];
  elapsedMs: number;
  fastestMs: number;
  slowestMs: number;
  failures: number;
}

/** The demo's session data. */
export interface DemoSession extends Record<string, unknown> {
  visits?: number;
  flash?: Flash;
  csrf?: string;
  cookie?: SentCookie;
  /** The id prefix before the last login, to show that login regenerated it. */
  previousIdPrefix?: string;
  race?: RaceRun;
}

export type DemoSessionHandle = Session<DemoSession>;

/** How many characters of a session id the page shows: enough to tell ids apart, too few to use one. */
export const ID_PREFIX_LENGTH = 8;

/** The form field (and, for fetch, the `X-CSRF-Token` header) that carries the token. */
export const CSRF_FIELD = 'csrf';

/** The session's CSRF token, made (32 random bytes) on first use. */
export async function csrfToken(session: DemoSessionHandle): Promise<string> {
  const existing = await session.get('csrf');
  if (existing !== undefined) return existing;
  const token = randomBytes(32).toString('base64url');
  await session.set('csrf', token);
  return token;
}

/** Replaces the CSRF token, on login and logout: a token seen before either is worthless after it. */
export async function rotateCsrfToken(session: DemoSessionHandle): Promise<void> {
  await session.unset('csrf');
  await csrfToken(session);
}

/**
 * Is `presented` the session's CSRF token? Compared in constant time over SHA-256 digests, so neither the
 * position of the first differing character nor the token's length shows in the timing.
 */
export async function isValidCsrfToken(
  session: DemoSessionHandle,
  presented: string | undefined,
): Promise<boolean> {
  const expected = await session.get('csrf');
  if (expected === undefined || presented === undefined || presented === '') return false;
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(expected), digest(presented));
}

/** Stores a message for the next page. */
export async function setFlash(session: DemoSessionHandle, flash: Flash): Promise<void> {
  await session.set('flash', flash);
}

/** The pending message, removed from the session so that it shows once. */
export async function takeFlash(session: DemoSessionHandle): Promise<Flash | undefined> {
  const flash = await session.get('flash');
  if (flash !== undefined) await session.unset('flash');
  return flash;
}

/** Splits a Set-Cookie header into its name, a short prefix of its value, and its attributes. */
export function describeSetCookie(header: string, sentAt: Date): SentCookie {
  const [pair = '', ...rest] = header.split(';').map((part) => part.trim());
  const equals = pair.indexOf('=');
  const value = equals === -1 ? '' : pair.slice(equals + 1);
  return {
    name: equals === -1 ? pair : pair.slice(0, equals),
    valuePrefix: value.slice(0, ID_PREFIX_LENGTH),
    valueLength: value.length,
    attributes: rest
      .filter((part) => part !== '')
      .map((part): [string, string | true] => {
        const at = part.indexOf('=');
        return at === -1 ? [part, true] : [part.slice(0, at), part.slice(at + 1)];
      }),
    sentAt: sentAt.toISOString(),
  };
}

/**
 * Saves the session and, when this response carries a new session cookie, records its attributes in the session
 * (that record is written at the end of the request). Call it once the request's changes are made.
 */
export async function saveAndRecordCookie(session: DemoSessionHandle, now: Date): Promise<void> {
  await session.save();
  const sent = session.setCookieHeaders().at(-1);
  if (sent !== undefined) await session.set('cookie', describeSetCookie(sent, now));
}
