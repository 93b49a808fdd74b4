/** Helpers for session tests: a store that counts its operations, a manual clock, a cookie jar. */
import { MemoryBackend } from '../../src/backends/memory/index.js';
import type { Backend, BackendFactory } from '../../src/backends/index.js';
import { SessionManager, type Session, type SessionManagerOptions } from '../../src/session/index.js';

export const SECRET = 'a-test-secret-of-at-least-32-bytes-0123456789';
export const VALIDATE_KEY = 'a-test-validate-key-of-32-bytes-or-more-abcdef';
export const ENCRYPT_KEY = 'a-test-encrypt-key-of-32-bytes-or-more-ghijklm';

export class ManualClock {
  now = Date.parse('2030-01-01T00:00:00Z');
  readonly read = (): number => this.now;
  advance(seconds: number): void {
    this.now += seconds * 1000;
  }
}

/** What a failing {@link CountingBackend} says: the kind of detail (a URL with its password) no client may see. */
export const STORE_FAILURE_DETAIL = 'cannot connect to redis://:hunter2-password@10.9.8.7:6379';

/** A memory back-end that counts reads, writes and deletes. */
export class CountingBackend extends MemoryBackend {
  reads = 0;
  writes = 0;
  deletes = 0;
  failing = false;

  // get() reads through peek(): counting here counts every read, by either path.
  override peek(namespace: string, key: string): unknown {
    this.reads += 1;
    if (this.failing) throw new Error(STORE_FAILURE_DETAIL);
    return super.peek(namespace, key);
  }

  override set(...args: Parameters<Backend['set']>): Promise<void> {
    this.writes += 1;
    return this.failing ? Promise.reject(new Error(STORE_FAILURE_DETAIL)) : super.set(...args);
  }

  override delete(namespace: string, key: string): Promise<boolean> {
    this.deletes += 1;
    return super.delete(namespace, key);
  }

  counts(): { reads: number; writes: number; deletes: number } {
    return { reads: this.reads, writes: this.writes, deletes: this.deletes };
  }

  reset(): void {
    this.reads = this.writes = this.deletes = 0;
  }
}

/** A manager on a counting memory store, and the store. */
export function countingManager(
  options: SessionManagerOptions = {},
  clock = new ManualClock(),
): { manager: SessionManager; store: CountingBackend; clock: ManualClock } {
  const store = new CountingBackend({}, { clock: clock.read });
  const factory: BackendFactory = () => store;
  const manager = new SessionManager({
    type: 'counting',
    secret: SECRET,
    backends: { counting: factory },
    clock: clock.read,
    onEvent: () => undefined,
    ...options,
  });
  return { manager, store, clock };
}

/** Plays one request: `handler` uses the session; returns the Set-Cookie headers sent. */
export async function request<T extends Record<string, unknown>>(
  manager: SessionManager,
  cookie: string | undefined,
  handler: (session: Session<T>) => Promise<void>,
): Promise<{ setCookies: string[]; session: Session<T> }> {
  const session = manager.session<T>(cookie);
  await handler(session);
  await session.persist();
  return { setCookies: session.setCookieHeaders(), session };
}

/** The Cookie header a browser would send back from Set-Cookie headers (name=value of the last one). */
export function cookieFrom(setCookies: string[], previous?: string): string | undefined {
  const last = setCookies.at(-1);
  if (last === undefined) return previous;
  const pair = last.split(';')[0] ?? '';
  // An empty value is a deletion cookie: the browser then sends nothing.
  return pair.slice(pair.indexOf('=') + 1) === '' ? undefined : pair;
}

/** Plays a first request that stores `values` in a new session and saves it. */
export function savedSession<T extends Record<string, unknown>>(
  manager: SessionManager,
  values: Partial<T>,
): Promise<{ setCookies: string[]; session: Session<T> }> {
  return request<T>(manager, undefined, async (session) => {
    for (const [key, value] of Object.entries(values)) await session.set(key, value as T[keyof T & string]);
    await session.save();
  });
}
