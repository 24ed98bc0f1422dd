// Bounded answers: locks a page at a time with bounded queues; an orders page visits the same
// number of index entries whatever the number of orders (counted, not timed).

import { afterEach, describe, expect, it } from 'vitest';

import type { LockView, OrderView } from '../../src/runtime/views.js';
import { harness, type ErrorJson, type Harness } from './support.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function addOrders(x: Harness, n: number, workflow = 'pdSerialSingle', prefix = 'o'): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    const orders = Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ workflow, id: `${prefix}${String(i + j).padStart(6, '0')}` }));
    const r = await x.call({ method: 'POST', url: '/api/v1/orders', payload: { orders }, as: 'operator' });
    expect(r.statusCode).toBe(200);
  }
  await x.orderly.engine.whenIdle();
}

describe('GET /api/v1/locks', () => {
  it('is paged by name and each queue shows its first waiters, with queueLength', async () => {
    h = await harness();
    await addOrders(h, 300);
    const r = await h.call({ method: 'GET', url: '/api/v1/locks?limit=1&waiters=5', as: 'viewer' });
    expect(r.statusCode).toBe(200);
    const page = r.json<{ locks: LockView[]; next?: string }>();
    expect(page.locks).toHaveLength(1);
    expect(page.next).toBe(page.locks[0]!.name);
    let all: LockView[] = [...page.locks];
    let next = page.next;
    while (next !== undefined) {
      const p = (await h.call({ method: 'GET', url: `/api/v1/locks?limit=1&waiters=5&after=${encodeURIComponent(next)}`, as: 'viewer' })).json<{ locks: LockView[]; next?: string }>();
      all = all.concat(p.locks);
      next = p.next;
    }
    expect(all.map((l) => l.name)).toEqual(h.orderly.listLocks().map((l) => l.name));
    const single = all.find((l) => l.name === 'pdSerialLockSingle')!;
    expect(single.queue.map((q) => q.place)).toEqual([1, 2, 3, 4, 5]);
    expect(single.queueLength).toBe(299);
    // Default: 100 waiters; the most: 1000.
    const d = (await h.call({ method: 'GET', url: '/api/v1/locks/pdSerialLockSingle', as: 'viewer' })).json<LockView>();
    expect(d.queue).toHaveLength(100);
    expect(d.queueLength).toBe(299);
    const over = await h.call({ method: 'GET', url: '/api/v1/locks?waiters=1001', as: 'viewer' });
    expect(over.statusCode).toBe(400);
    expect(over.json<ErrorJson>().error.problems?.[0]?.path).toBe('query.waiters');
    expect((await h.call({ method: 'GET', url: '/api/v1/locks?limit=1001', as: 'viewer' })).statusCode).toBe(400);
  });
});

describe('GET /api/v1/orders', () => {
  it('a page visits the same number of entries with 100 and with 10,000 orders', async () => {
    const visitsFor = async (n: number): Promise<number[]> => {
      const x = await harness();
      try {
        await addOrders(x, n);
        await addOrders(x, 50, 'pdSerialShared', 'z');
        const counts: number[] = [];
        for (const url of ['/api/v1/orders?limit=100', '/api/v1/orders?limit=50&after=o000010', '/api/v1/orders?limit=20&workflow=pdSerialShared', '/api/v1/orders?limit=20&state=waiting']) {
          const before = x.orderly.orderIndex.visited;
          const r = await x.call({ method: 'GET', url, as: 'viewer' });
          expect(r.statusCode).toBe(200);
          counts.push(x.orderly.orderIndex.visited - before);
        }
        return counts;
      } finally {
        await x.close();
      }
    };
    const small = await visitsFor(100);
    const large = await visitsFor(10_000);
    expect(large).toEqual(small);
    expect(Math.max(...large)).toBeLessThanOrEqual(102);
  });

  it('pages are complete, sorted and filtered, and follow changes', async () => {
    h = await harness();
    await addOrders(h, 250);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const r = (await h.call({ method: 'GET', url: `/api/v1/orders?limit=100${after ? `&after=${after}` : ''}`, as: 'viewer' })).json<{ items: OrderView[]; next?: string }>();
      seen.push(...r.items.map((o) => o.id));
      if (!r.next) break;
      after = r.next;
    }
    expect(seen).toEqual([...seen].sort());
    expect(seen).toHaveLength(250);
    const holding = (await h.call({ method: 'GET', url: '/api/v1/orders?state=waiting&workflow=pdSerialSingle&limit=1000', as: 'viewer' })).json<{ items: OrderView[] }>();
    expect(holding.items).toHaveLength(250); // one holds the lock and waits for a worker slot (none)
    await h.call({ method: 'POST', url: '/api/v1/orders/o000200/cancel', as: 'operator' });
    const cancelled = (await h.call({ method: 'GET', url: '/api/v1/orders?state=cancelled', as: 'viewer' })).json<{ items: OrderView[] }>();
    expect(cancelled.items.map((o) => o.id)).toEqual(['o000200']);
  });
});

describe('GET /v2/api/jobstats', () => {
  const countsOf = (b: Record<string, unknown>) => ({ ...b, window: undefined });

  it('is kept as counters: after the first call, an answer reads no order at 100 or 10,000 orders', async () => {
    const listCallsFor = async (n: number): Promise<number> => {
      const x = await harness();
      try {
        await addOrders(x, n);
        const first = await x.call({ method: 'GET', url: '/v2/api/jobstats', as: 'viewer' });
        expect(first.statusCode).toBe(200);
        let listed = 0;
        const list = x.orderly.listOrders.bind(x.orderly);
        x.orderly.listOrders = (f) => {
          listed++;
          return list(f);
        };
        const r = await x.call({ method: 'GET', url: '/v2/api/jobstats', as: 'viewer' });
        expect(r.json()).toMatchObject({ totalJobs: n, queued: n - 1, running: 1 }); // the lock's holder waits for a worker slot (none)
        return listed;
      } finally {
        await x.close();
      }
    };
    expect(await listCallsFor(100)).toBe(0);
    expect(await listCallsFor(10_000)).toBe(0);
  });

  it('the counters follow the events and agree with counting every job', async () => {
    h = await harness();
    const scan = async () => countsOf((await h!.call({ method: 'GET', url: '/v2/api/jobstats?startdate=0', as: 'viewer' })).json());
    const counters = async () => countsOf((await h!.call({ method: 'GET', url: '/v2/api/jobstats', as: 'viewer' })).json());
    await addOrders(h, 5, 'pdSerialSingle', 'a');
    expect(await counters()).toEqual(await scan());
    await addOrders(h, 3, 'pdSerialShared', 'b');
    await h.call({ method: 'POST', url: '/api/v1/orders/a000004/cancel', as: 'operator' });
    await h.orderly.engine.whenIdle();
    const c = await counters();
    expect(c).toMatchObject({ totalJobs: 8, cancelled: 1 });
    expect(c).toEqual(await scan());
  });
});
