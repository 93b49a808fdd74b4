/** Lease locks on advanced time: renewal every lease/3, a lost lease reported, a bounded wait, no sleeping. */
import { describe, expect, it } from 'vitest';
import type { BackendEvent } from '../../src/backends/contract.js';
import { LeaseLockProvider, type LeaseStore } from '../../src/locks/lease.js';
import { ReleaseWaiters } from '../../src/locks/release-waiters.js';
import { ManualTimers } from '../helpers/manual-timers.js';

/** Leases in a map, expiring on `timers`' clock; `renewals` counts the renewals asked for. */
class MapLeaseStore implements LeaseStore {
  readonly leases = new Map<string, { token: string; until: number }>();
  renewals = 0;
  constructor(readonly timers: ManualTimers) {}

  take(key: string, token: string, leaseMs: number): Promise<boolean> {
    const lease = this.leases.get(key);
    if (lease && lease.until > this.timers.now()) return Promise.resolve(false);
    this.leases.set(key, { token, until: this.timers.now() + leaseMs });
    return Promise.resolve(true);
  }

  renew(key: string, token: string, leaseMs: number): Promise<boolean> {
    this.renewals += 1;
    const lease = this.leases.get(key);
    if (lease?.token !== token) return Promise.resolve(false);
    lease.until = this.timers.now() + leaseMs;
    return Promise.resolve(true);
  }

  release(key: string, token: string): Promise<boolean> {
    if (this.leases.get(key)?.token !== token) return Promise.resolve(false);
    return Promise.resolve(this.leases.delete(key));
  }
}

function leaseLocks(leaseMs = 3000): {
  provider: LeaseLockProvider;
  store: MapLeaseStore;
  timers: ManualTimers;
  events: BackendEvent[];
} {
  const timers = new ManualTimers();
  const store = new MapLeaseStore(timers);
  const events: BackendEvent[] = [];
  const context = { clock: timers.now, timers, report: (event: BackendEvent) => events.push(event) };
  const provider = new LeaseLockProvider(store, { prefix: 'lock:', leaseMs, backend: 'test', context });
  return { provider, store, timers, events };
}

describe('LeaseLockProvider on advanced time', () => {
  it('renews a held lease every lease/3, so it outlives its lease, and stops once released', async () => {
    const { provider, store, timers } = leaseLocks();
    const held = await provider.acquire('name', 0);
    await timers.advance(999);
    expect(store.renewals).toBe(0);
    await timers.advance(1);
    expect(store.renewals).toBe(1);
    await timers.advance(9000);
    expect(store.renewals).toBe(10);
    expect(await provider.acquire('name', 0)).toBeUndefined();
    await held?.release();
    await timers.advance(10_000);
    expect(store.renewals).toBe(10);
    expect(timers.pendingCount).toBe(0);
    await provider.close();
  });

  it('reports a lease lost to another holder and stops renewing it', async () => {
    const { provider, store, timers, events } = leaseLocks();
    await provider.acquire('name', 0);
    store.leases.clear();
    await timers.advance(1000);
    expect(events.map((event) => event.type)).toEqual(['lock-compromised']);
    await timers.advance(5000);
    expect(store.renewals).toBe(1);
    await provider.close();
  });

  it('waits for a held lock until its wait runs out, polling rather than spinning', async () => {
    const { provider, store, timers } = leaseLocks();
    const held = await provider.acquire('name', 0);
    let outcome: string | undefined;
    const taking = store.take.bind(store);
    let tries = 0;
    store.take = (...args) => ((tries += 1), taking(...args));
    void provider.acquire('name', 2000).then((handle) => (outcome = handle ? 'taken' : 'gave up'));
    await timers.advance(1990);
    expect(outcome).toBeUndefined();
    await timers.advance(10);
    expect(outcome).toBe('gave up');
    // Back-off from 25 ms to a 200 ms cap: about 15 tries in 2 s, far fewer than a loop would make.
    expect(tries).toBeGreaterThan(5);
    expect(tries).toBeLessThan(40);
    await held?.release();
    await provider.close();
  });
});

describe('ReleaseWaiters on advanced time', () => {
  it('ends a wait at its bound, or at once when the release is announced', async () => {
    const timers = new ManualTimers();
    const waiters = new ReleaseWaiters(timers);
    const ended: string[] = [];
    void waiters.wait('timed', 500).then(() => ended.push('timed'));
    void waiters.wait('woken', 500).then(() => ended.push('woken'));
    await timers.advance(100);
    waiters.wake('woken');
    await timers.advance(0);
    expect(ended).toEqual(['woken']);
    await timers.advance(399);
    expect(ended).toEqual(['woken']);
    await timers.advance(1);
    expect(ended).toEqual(['woken', 'timed']);
    expect(waiters.has()).toBe(false);
    expect(timers.pendingCount).toBe(0);
  });
});
