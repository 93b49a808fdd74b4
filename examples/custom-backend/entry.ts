/**
 * What one KV value holds: a JSON header line with the entry's key and its expiry, then the entry's text. NATS 2.9
 * has no per-message TTL, so the expiry travels with the value and reads skip expired entries; the key is kept
 * because a long key's name in the bucket is only its digest, and `keys()` must list the key itself.
 * @module
 */

/** An entry as read back. */
export interface StoredEntry {
  /** The key as the caller gave it. */
  key: string;
  /** When it expires, in ms since the epoch (by the back-end's clock); `null`: never. */
  expiresAt: number | null;
  /** The entry's text. */
  data: string;
}

interface Header {
  /** The key. */
  k: string;
  /** The expiry. */
  x: number | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The bytes of `entry`. JSON escapes every newline of the key, so the first newline ends the header. */
export function encodeEntry(entry: StoredEntry): Uint8Array {
  const header: Header = { k: entry.key, x: entry.expiresAt };
  return encoder.encode(`${JSON.stringify(header)}\n${entry.data}`);
}

/** The entry in `bytes`, or undefined when they are not one (written by something else, or damaged). */
export function decodeEntry(bytes: Uint8Array): StoredEntry | undefined {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return undefined;
  }
  const end = text.indexOf('\n');
  if (end < 0) return undefined;
  const header = parseHeader(text.slice(0, end));
  return header && { key: header.k, expiresAt: header.x, data: text.slice(end + 1) };
}

function parseHeader(line: string): Header | undefined {
  try {
    const parsed = JSON.parse(line) as Partial<Header> | null;
    const valid =
      typeof parsed?.k === 'string' && (parsed.x === null || (typeof parsed.x === 'number' && parsed.x >= 0));
    return valid ? (parsed as Header) : undefined;
  } catch {
    return undefined;
  }
}

/** Is `entry` still live at `now`? */
export function isLive(entry: StoredEntry, now: number): boolean {
  return entry.expiresAt === null || entry.expiresAt > now;
}
