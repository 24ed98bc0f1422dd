// Node heartbeats on the machine's PostgreSQL: the row, its renewal and loss, stop, the wait of
// a restarted node for its former life, and what the row announces.

import { Pool } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeHeartbeat, type NodeHeartbeatOptions } from '../../src/cluster/heartbeat.js';
import { PgListener } from '../../src/journal/postgres-listener.js';
import { clusterSchema, withClient } from '../support/postgres.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const setup = (): ReturnType<typeof clusterSchema> => clusterSchema(cleanups);

function heartbeat(base: { schema: string; pool: Pool; listener: PgListener }, extra: Partial<NodeHeartbeatOptions> = {}): NodeHeartbeat {
  const hb = new NodeHeartbeat({ ...base, node: 'n1', workerId: 'n1-1', slots: 3, functions: ['f2', 'f1'], ttlMs: 6_000, ...extra });
  cleanups.push(() => hb.stop().catch(() => undefined));
  return hb;
}

describe('node heartbeat', () => {
  it('writes its row (agents NULL when none), shows it live, and stops it, announcing both', async () => {
    const base = await setup();
    const changes: string[] = [];
    const announced = new Set<() => void>();
    await base.listener.listen(`${base.schema}.nodes`, (name) => {
      changes.push(name);
      for (const f of announced) f();
    });
    const next = (n: number): Promise<void> => new Promise((resolve) => {
      const f = (): void => {
        if (changes.length >= n) {
          announced.delete(f);
          resolve();
        }
      };
      announced.add(f);
      f();
    });
    const hb = heartbeat(base, { httpUrl: 'http://n1:8080' });
    await hb.start();
    await next(1);
    const live = await hb.liveNodes();
    expect(live).toEqual([
      expect.objectContaining({ name: 'n1', workerId: 'n1-1', agents: undefined, slots: 3, functions: ['f1', 'f2'], httpUrl: 'http://n1:8080' }),
    ]);
    expect(live[0]!.expiresAt).toBeGreaterThan(live[0]!.lastSeen);
    const raw = await withClient((c) => c.query(`SELECT agents, stopped FROM ${c.escapeIdentifier(base.schema)}.nodes`));
    expect(raw.rows).toEqual([{ agents: null, stopped: false }]);
    // A function registered later: the row changes and says so; the same list again says nothing.
    await hb.setFunctions(['f3', 'f1', 'f2']);
    await next(2);
    await hb.setFunctions(['f1', 'f2', 'f3']);
    expect((await hb.liveNodes())[0]!.functions).toEqual(['f1', 'f2', 'f3']);
    await hb.stop();
    await next(3);
    expect(await hb.liveNodes()).toEqual([]);
    expect(changes).toEqual(['n1', 'n1', 'n1']);
  });

  it('functions registered one after another without waiting: the row ends with the newest list, every time', async () => {
    const base = await setup();
    const hb = heartbeat(base, { functions: [] });
    await hb.start();
    for (let round = 0; round < 20; round++) {
      const names: string[] = [];
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 5; i++) {
        names.push(`r${round}f${i}`);
        writes.push(hb.setFunctions([...names]));
      }
      await Promise.all(writes);
      expect((await hb.liveNodes())[0]!.functions).toEqual([...names].sort());
    }
  });

  it('keeps the agents it serves', async () => {
    const base = await setup();
    const hb = heartbeat(base, { agents: ['b', 'a', 'b'] });
    await hb.start();
    expect((await hb.liveNodes())[0]!.agents).toEqual(['a', 'b']);
  });

  it('a node restarted under the same name waits until its former life stops', async () => {
    const base = await setup();
    const first = heartbeat(base);
    await first.start();
    let settled = 0;
    const queries: Promise<unknown>[] = [];
    const counting = { query: (...a: unknown[]) => {
      const p = (base.pool.query as (...x: unknown[]) => Promise<unknown>)(...a);
      queries.push(p.catch(() => undefined));
      return p;
    } } as unknown as Pool;
    const second = heartbeat({ ...base, pool: counting }, { workerId: 'n1-2' });
    const started = second.start().then(() => settled++);
    // Its first try has come back (refused: the first life is live) and it waits.
    while (queries.length === 0) await new Promise((r) => setImmediate(r));
    await queries[0];
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(0);
    expect((await first.liveNodes())[0]!.workerId).toBe('n1-1');
    await first.stop();
    await started;
    expect((await second.liveNodes())[0]!.workerId).toBe('n1-2');
  });

  it('is lost when its row is no longer its own, and says so once', async () => {
    const base = await setup();
    const hb = heartbeat(base, { ttlMs: 400 });
    await hb.start();
    const lost = new Promise<Error>((resolve) => hb.onLost(resolve));
    await withClient((c) => c.query(`UPDATE ${c.escapeIdentifier(base.schema)}.nodes SET worker_id = 'other'`));
    const err = await lost;
    expect(err.name).toBe('HeartbeatLost');
    expect(hb.lost).toBe(true);
    expect(await hb.renew()).toBe(false);
    // A handler added after the loss hears of it too.
    await new Promise<void>((resolve) => hb.onLost(() => resolve()));
  });

  it('refuses bad options, naming them', () => {
    const base = { schema: 's', pool: {} as Pool, node: 'n', workerId: 'w', slots: 1, functions: [] };
    expect(() => new NodeHeartbeat({ ...base, workerId: 'a b' })).toThrow(/workerId/);
    expect(() => new NodeHeartbeat({ ...base, slots: -1 })).toThrow(/slots/);
    expect(() => new NodeHeartbeat({ ...base, agents: [''] })).toThrow(/agents/);
    expect(() => new NodeHeartbeat({ ...base, functions: ['x'.repeat(129)] })).toThrow(/functions/);
    expect(() => new NodeHeartbeat({ ...base, node: '' })).toThrow(/node/);
    expect(() => new NodeHeartbeat({ ...base, ttlMs: 10 })).toThrow(/ttlMs/);
    expect(() => new NodeHeartbeat({ ...base, httpUrl: 'x'.repeat(3000) })).toThrow(/httpUrl/);
  });
});
