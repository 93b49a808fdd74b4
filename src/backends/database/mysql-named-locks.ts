/**
 * Wake-ups for lock waiters on MySQL and MariaDB, which have no LISTEN/NOTIFY: the holder of a creation lock also
 * holds a named lock (`GET_LOCK`) on a connection of its own, and a waiter blocks in `GET_LOCK` on that name, which
 * returns the moment the holder releases it, or the holder's connection drops (a killed process). The connections
 * come from a small pool of their own, so the entries' pool is never drained by waiting.
 * @module
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolConnection } from 'mysql2/promise';
import { within } from '../kit/within.js';
import type { NamedLocks } from './sql-client.js';

/** How long a holder or waiter waits for a connection of the lock pool before doing without (polling). */
const CONNECTION_WAIT_MS = 200;

/** Named locks are server-wide: the name mixes in the table, so two tables (or apps) never share one. */
function lockName(scope: string, key: string): string {
  return `beaker-ts:${createHash('sha256').update(`${scope}\u0000${key}`).digest('hex').slice(0, 40)}`;
}

export class MysqlNamedLocks implements NamedLocks {
  readonly #pool: Pool;
  readonly #scope: string;

  /** `scope` names what the locks belong to (the database), so that names do not collide across databases. */
  constructor(pool: Pool, scope: string) {
    this.#pool = pool;
    this.#scope = scope;
  }

  async #connection(): Promise<PoolConnection | undefined> {
    return within(this.#pool.getConnection(), CONNECTION_WAIT_MS, (connection) => {
      connection.release();
    }).catch(() => undefined);
  }

  /** Holds the named lock of `key`; its release, or undefined when it cannot be held now. */
  async hold(key: string): Promise<(() => Promise<void>) | undefined> {
    const connection = await this.#connection();
    if (!connection) return undefined;
    const name = lockName(this.#scope, key);
    try {
      // A waiter may hold it for an instant while it is being woken: wait that long, not more.
      const [rows] = await connection.query('SELECT GET_LOCK(?, 0.2) AS got', [name]);
      if (Number((rows as { got: unknown }[])[0]?.got) === 1) {
        return async () => {
          await connection.query('DO RELEASE_LOCK(?)', [name]).then(
            () => {
              connection.release();
            },
            () => {
              connection.destroy();
            },
          );
        };
      }
      connection.release();
    } catch {
      // Without the named lock, waiters poll.
      connection.destroy();
    }
    return undefined;
  }

  /**
   * Waits until the holder of `key`'s named lock releases it, or `ms` pass: true. False at once when nobody holds
   * it (the holder had no connection, or died), so that the caller sleeps instead.
   */
  async awaitRelease(key: string, ms: number): Promise<boolean> {
    const connection = await this.#connection();
    if (!connection) return false;
    const name = lockName(this.#scope, key);
    let healthy = true;
    try {
      const [free] = await connection.query('SELECT IS_FREE_LOCK(?) AS free', [name]);
      if (Number((free as { free: unknown }[])[0]?.free) === 1) return false;
      const [rows] = await connection.query('SELECT GET_LOCK(?, ?) AS got', [name, ms / 1000]);
      // Granted: hand it straight back, for the next waiter and the next holder.
      if (Number((rows as { got: unknown }[])[0]?.got) === 1)
        await connection.query('DO RELEASE_LOCK(?)', [name]);
      return true;
    } catch {
      healthy = false;
      return false;
    } finally {
      if (healthy) connection.release();
      else connection.destroy();
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
