/**
 * The type of the application's session data, declared once for every adapter.
 * @module
 */

/**
 * The data of this application's sessions. Empty here: the application declares its keys once, and
 * `req.session` (Express), `request.session` (Fastify), `ctx.session` (Koa) and every `Session` without a type
 * argument are typed from it.
 *
 * @example
 * declare module 'beaker-ts' {
 *   interface SessionData {
 *     user?: string;
 *     visits?: number;
 *   }
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by the application's declaration merging
export interface SessionData {}

/** {@link SessionData} once the application has declared it; until then, any key with an `unknown` value. */
export type AppSessionData = keyof SessionData extends never ? Record<string, unknown> : SessionData;
