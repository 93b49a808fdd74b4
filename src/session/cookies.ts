/**
 * Reading the Cookie header and writing Set-Cookie headers (RFC 6265). Reading never throws: a header of garbage
 * yields no value. Every value sent under the session's name is kept, so that duplicated cookies (a stale one on a
 * wider path, or ones another site of the domain planted before the real one) can each be tried: the whole header
 * is read, as the HTTP server's own header size limit bounds it.
 * @module
 */
import { serialize, type SerializeOptions } from 'cookie';
import type { SameSite } from '../config/index.js';
import { SessionCookieTooLargeError } from '../shared/errors.js';

/** Browsers drop a Set-Cookie header longer than this many bytes (RFC 6265 §6.1 minimum they must support). */
export const MAX_SET_COOKIE_BYTES = 4096;

/** The values sent for cookie `name`, in header order (quotes around a value removed). */
export function cookieValues(header: string | undefined, name: string): string[] {
  // A header without the name anywhere cannot hold the cookie.
  if (typeof header !== 'string' || header === '' || !header.includes(name)) return [];
  const values: string[] = [];
  for (let start = 0; start <= header.length;) {
    const semicolon = header.indexOf(';', start);
    const stop = semicolon < 0 ? header.length : semicolon;
    const pair = header.slice(start, stop);
    start = stop + 1;
    const equals = pair.indexOf('=');
    if (equals < 0 || pair.slice(0, equals).trim() !== name) continue;
    let value = pair.slice(equals + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (value !== '') values.push(value);
  }
  return values;
}

/** The attributes of the session cookie. */
export interface CookieAttributes {
  domain?: string | null;
  path?: string | null;
  secure: boolean;
  httpOnly: boolean;
  sameSite: SameSite;
  /** An absolute expiry, or undefined for a browser-session cookie. */
  expires?: Date;
}

/** A Set-Cookie header value; throws {@link SessionCookieTooLargeError} when the whole header exceeds 4096 bytes. */
export function setCookieHeader(name: string, value: string, attributes: CookieAttributes): string {
  const options: SerializeOptions = {
    path: attributes.path ?? '/',
    secure: attributes.secure,
    httpOnly: attributes.httpOnly,
    ...(attributes.domain ? { domain: attributes.domain } : {}),
    ...(attributes.sameSite === false
      ? {}
      : { sameSite: attributes.sameSite.toLowerCase() as 'strict' | 'lax' | 'none' }),
    ...(attributes.expires ? { expires: attributes.expires } : {}),
  };
  // The value is base64url, hex or Beaker's base64: all cookie-safe, so it is written as is.
  const header = serialize(name, value, { ...options, encode: (raw) => raw });
  const bytes = Buffer.byteLength(`Set-Cookie: ${header}`);
  if (bytes > MAX_SET_COOKIE_BYTES) throw new SessionCookieTooLargeError(bytes);
  return header;
}

/** A Set-Cookie header that makes the browser drop the cookie. */
export function deletionCookieHeader(name: string, attributes: CookieAttributes): string {
  return setCookieHeader(name, '', { ...attributes, expires: new Date(0) });
}
