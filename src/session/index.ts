/**
 * Sessions: server-side (any back-end) or entirely in a sealed cookie, lazy, configured the Beaker way.
 * @module
 */
export type { AppSessionData, SessionData } from './data.js';
export { SessionManager, type SessionManagerOptions } from './manager.js';
export type { SessionUserInfo } from './format.js';
export type { UserSessionInfo } from './user-index.js';
export { Session, isSessionStoreError, type SessionEvent } from './session.js';
export {
  SessionCookieTooLargeError,
  SessionCorruptError,
  SessionNotLoadedError,
  SessionStoreError,
  SessionTooLargeError,
} from './errors.js';
