/**
 * Session errors: what adapters turn into responses (a store that fails becomes a 503).
 * @module
 */
import { BeakerError } from '../errors.js';

/** The body of the 503 answered when the session store fails. */
export const STORE_UNAVAILABLE_BODY = 'Service Unavailable: the session store cannot be reached.\n';

/**
 * The session store failed (down, timed out, I/O error); the request cannot be served correctly. The message says
 * only what could not be done: frameworks may show it to the client, so the store's own words (hosts, URLs, tables)
 * stay in `cause`, and the session's event hook receives them with passwords masked.
 */
export class SessionStoreError extends BeakerError {
  /** The HTTP status frameworks answer with (Express, Koa and Fastify read `status`/`statusCode`). */
  readonly status = 503;
  readonly statusCode = 503;
  /** Koa: the message may be shown to the client (it says only that the store is unavailable). */
  readonly expose = false;

  /** `what`: the operation that failed, such as `read the session`. */
  constructor(what: string, options?: ErrorOptions) {
    super('E_SESSION_STORE', `[beaker-ts] the session store is unavailable: could not ${what}`, options);
  }

  /** The response to send (Hono's default error handler uses it). */
  getResponse(): Response {
    return new Response(STORE_UNAVAILABLE_BODY, {
      status: 503,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
  }
}

/** The stored session or the session cookie cannot be read, and `invalidate_corrupt` is off. */
export class SessionCorruptError extends BeakerError {
  constructor(message: string, options?: ErrorOptions) {
    super('E_SESSION_CORRUPT', message, options);
  }
}

/** The cookie session does not fit in a browser's cookie limit. */
export class SessionCookieTooLargeError extends BeakerError {
  readonly bytes: number;

  constructor(bytes: number) {
    super(
      'E_COOKIE_TOO_LARGE',
      `Cookie value is too long to store: the Set-Cookie header would be ${bytes} bytes; browsers keep at most 4096. ` +
        'Store less in the session, or use a server-side session type.',
    );
    this.bytes = bytes;
  }
}

/** The session was used before `await session.load()` (or any other async access). */
export class SessionNotLoadedError extends BeakerError {
  constructor() {
    super(
      'E_SESSION_NOT_LOADED',
      'The session is not loaded yet: call `await session.load()` (or await get/set) first.',
    );
  }
}
