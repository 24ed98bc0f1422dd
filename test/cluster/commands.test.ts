// Commands from stand-by nodes to the controller through the `commands` table, on the
// machine's PostgreSQL: a row whose lower id commits after a higher one is still run, and a
// flood of commands sent at once is answered, every one, within the sender's wait.

import { Client, escapeIdentifier } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandForwarder, CommandServer, commandChannels } from '../../src/cluster/commands.js';
import type { Command } from '../../src/core/commands.js';
import { clusterSchema, TEST_DATABASE_URL } from '../support/postgres.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const { schema, pool, listener } = await clusterSchema(cleanups);
  const tables = { pool, listener, schema, schemaSql: escapeIdentifier(schema), node: 'b' };
  // An engine that takes every command: it records them, in the order it was given them.
  const ran: string[] = [];
  const runs = new Set<() => void>();
  const engine = {
    state: { seq: 0 },
    submit: async (cmd: Command) => {
      ran.push((cmd as { orderId: string }).orderId);
      for (const f of runs) f();
      return [];
    },
  };
  const server = new CommandServer(tables, engine as never);
  cleanups.push(() => server.close());
  await server.start();
  const until = (cond: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const f = (): void => {
        if (cond()) {
          runs.delete(f);
          resolve();
        }
      };
      runs.add(f);
      f();
    });
  return { schema, tables, ran, until };
}

const add = (orderId: string): string => JSON.stringify({ type: 'addOrder', orderId, workflow: 'w' });

describe('commands to the controller', () => {
  it('runs a command whose lower id commits after a higher one (ids are given at insert, commits come in any order)', async () => {
    const { schema, tables, ran, until } = await setup();
    const s = escapeIdentifier(schema);
    const channel = commandChannels(schema).commands;
    const slow = new Client({ connectionString: TEST_DATABASE_URL });
    await slow.connect();
    cleanups.push(() => slow.end());
    await slow.query('BEGIN');
    const low = await slow.query<{ id: string }>(`INSERT INTO ${s}.commands (node, body) VALUES ('b', $1) RETURNING id`, [add('low')]);
    const high = await tables.pool.query<{ id: string }>(
      `WITH ins AS (INSERT INTO ${s}.commands (node, body) VALUES ('c', $1) RETURNING id) SELECT id, pg_notify($2, id::text) FROM ins`,
      [add('high'), channel],
    );
    expect(Number(high.rows[0]!.id)).toBeGreaterThan(Number(low.rows[0]!.id));
    await until(() => ran.includes('high'));
    await slow.query(`SELECT pg_notify($1, $2)`, [channel, low.rows[0]!.id]);
    await slow.query('COMMIT');
    await until(() => ran.includes('low'));
    expect(ran).toEqual(['high', 'low']);
    // Both answered (written after the run).
    for (;;) {
      const open = await tables.pool.query(`SELECT id FROM ${s}.commands WHERE answer IS NULL`);
      if (open.rows.length === 0) break;
      await new Promise((r) => setImmediate(r));
    }
  });

  it('answers 3,000 commands sent at once by one node, every one, each run once', async () => {
    const { tables, ran } = await setup();
    const forwarder = new CommandForwarder(tables);
    cleanups.push(async () => forwarder.close());
    const n = 3_000;
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => forwarder.send({ type: 'addOrder', orderId: `o${i}`, workflow: 'w' } as Command)));
    expect(answers.filter((a) => !a.ok)).toEqual([]);
    expect(ran).toHaveLength(n);
    expect(new Set(ran).size).toBe(n);
  });
});
