/** RowLeaseStore over both kinds of primitive lease rows, on advanced time: what a store without TTL relies on. */
import { describe, expect, it } from 'vitest';
import {
  RowLeaseStore,
  type InsertingLeaseRows,
  type LeaseRows,
  type SwappingLeaseRows,
} from '../../src/locks/row-leases.js';
import { ManualTimers } from '../helpers/manual-timers.js';

/** Lease rows in a map; each operation answers on a later turn, so that concurrent takes interleave. */
class MapRows {
  readonly rows = new Map<string, { token: string; leaseEnd: number }>();
  /** The writes asked for: takers that find a live lease must make none. */
  writes = 0;

  async leaseEndOf(key: string): Promise<number | undefined> {
    await Promise.resolve();
    return this.rows.get(key)?.leaseEnd;
  }

  async extend(key: string, token: string, leaseEnd: number): Promise<boolean> {
    await this.write();
    const row = this.rows.get(key);
    if (row?.token !== token) return false;
    row.leaseEnd = leaseEnd;
    return true;
  }

  async remove(key: string, token: string): Promise<boolean> {
    await this.write();
    return this.rows.get(key)?.token === token && this.rows.delete(key);
  }

  protected async write(): Promise<void> {
    this.writes += 1;
    await Promise.resolve();
  }
}

class InsertingMapRows extends MapRows implements InsertingLeaseRows {
  async dropEnded(key: string, now: number): Promise<void> {
    await this.write();
    const row = this.rows.get(key);
    if (row && row.leaseEnd <= now) this.rows.delete(key);
  }

  async insertIfAbsent(key: string, token: string, leaseEnd: number): Promise<boolean> {
    await this.write();
    if (this.rows.has(key)) return false;
    this.rows.set(key, { token, leaseEnd });
    return true;
  }
}

class SwappingMapRows extends MapRows implements SwappingLeaseRows {
  async setIfFree(key: string, token: string, now: number, leaseEnd: number): Promise<boolean> {
    await this.write();
    const row = this.rows.get(key);
    if (row && row.leaseEnd > now) return false;
    this.rows.set(key, { token, leaseEnd });
    return true;
  }
}

const KINDS: [string, () => MapRows & LeaseRows][] = [
  ['insert-if-absent rows', () => new InsertingMapRows()],
  ['compare-and-set rows', () => new SwappingMapRows()],
];

describe.each(KINDS)('RowLeaseStore over %s', (_kind, rowsOf) => {
  function leases(): { rows: MapRows; store: RowLeaseStore; timers: ManualTimers } {
    const rows = rowsOf();
    const timers = new ManualTimers();
    return { rows, store: new RowLeaseStore(rows, timers), timers };
  }

  it('takes a free key, refuses it while the lease lives (writing nothing), and takes it once the lease ended', async () => {
    const { rows, store, timers } = leases();
    expect(await store.take('k', 'first', 1000)).toBe(true);
    const writes = rows.writes;
    await timers.advance(999);
    expect(await store.take('k', 'second', 1000)).toBe(false);
    expect(rows.writes).toBe(writes);
    await timers.advance(1);
    expect(await store.take('k', 'second', 1000)).toBe(true);
    expect(rows.rows.get('k')).toEqual({ token: 'second', leaseEnd: timers.now() + 1000 });
  });

  it('lets one of the takers racing for an ended lease win', async () => {
    const { store, timers } = leases();
    await store.take('k', 'dead', 1000);
    await timers.advance(1000);
    const taken = await Promise.all(['a', 'b', 'c'].map((token) => store.take('k', token, 1000)));
    expect(taken.filter(Boolean)).toHaveLength(1);
  });

  it('keeps a lease renewed between a taker’s read and its write', async () => {
    const { rows, store, timers } = leases();
    await store.take('k', 'holder', 1000);
    await timers.advance(1000);
    const read = rows.leaseEndOf.bind(rows);
    let renewed: boolean | undefined;
    // The holder's renewal lands after the taker read the ended lease, before the taker writes.
    rows.leaseEndOf = async (key) => {
      const leaseEnd = await read(key);
      renewed = await store.renew('k', 'holder', 1000);
      return leaseEnd;
    };
    expect(await store.take('k', 'taker', 1000)).toBe(false);
    expect(renewed).toBe(true);
    expect(rows.rows.get('k')?.token).toBe('holder');
  });

  it('renews and releases for the token that holds the lease only', async () => {
    const { rows, store } = leases();
    await store.take('k', 'holder', 1000);
    expect(await store.renew('k', 'other', 1000)).toBe(false);
    expect(await store.release('k', 'other')).toBe(false);
    expect(rows.rows.has('k')).toBe(true);
    expect(await store.renew('k', 'holder', 1000)).toBe(true);
    expect(await store.release('k', 'holder')).toBe(true);
    expect(rows.rows.has('k')).toBe(false);
  });
});
