/**
 * Session errors: what adapters turn into responses (a store that fails becomes a 503). They live with every other
 * error class in the errors module; this module keeps the paths that import them from here working.
 * @module
 */
export {
  STORE_UNAVAILABLE_BODY,
  SessionCookieTooLargeError,
  SessionCorruptError,
  SessionNotLoadedError,
  SessionStoreError,
  SessionTooLargeError,
} from '../shared/errors.js';
