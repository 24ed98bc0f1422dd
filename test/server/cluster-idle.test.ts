// An idle cluster does not poll: two nodes on the machine's PostgreSQL (a controller and a
// stand-by) with nothing to do make, besides renewing their heartbeats and the controller
// lease, less than one query per second each. Counted per heartbeat renewal, not per second of
// the clock: every node renews its heartbeat four times per lease time (the default 8 s, so
// every 2 s), and any other query is counted against the time those renewals stand for.

import { Client } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';

import { startNode, type OrderlyNode } from '../../src/node/start.js';
import { dropSchema, TEST_DATABASE_URL, testSchemaName } from '../support/postgres.js';

const open: OrderlyNode[] = [];
const schemas: string[] = [];
afterEach(async () => {
  for (const n of open.splice(0)) await n.close().catch(() => undefined);
  for (const s of schemas.splice(0)) await dropSchema(s);
});

const LEASE_SECONDS = 8;

type Query = (this: Client, ...args: unknown[]) => unknown;

describe('an idle cluster', () => {
  it('makes less than one query per second per node besides its heartbeat and lease renewals', async () => {
    const schema = testSchemaName();
    schemas.push(schema);
    const start = async (name: string): Promise<OrderlyNode> => {
      const n = await startNode({ database: { url: TEST_DATABASE_URL, schema, nodeName: name, leaseSeconds: LEASE_SECONDS }, jobLauncher: 'inline' });
      open.push(n);
      return n;
    };
    const a = await start('a');
    const b = await start('b');
    // Both workers are known to the controller: the start-up is over.
    while (a.orderly.engine.state.workers.size < 2) await new Promise((r) => setTimeout(r, 50));

    const texts: string[] = [];
    let heartbeats = 0;
    let done: () => void = () => undefined;
    const enough = new Promise<void>((resolve) => (done = resolve));
    const HEARTBEATS = 16; // eight per node: two lease times, 16 s of each node
    const original = Client.prototype.query as unknown as Query;
    (Client.prototype as unknown as { query: Query }).query = function (this: Client, ...args: unknown[]) {
      const q = args[0];
      const text = typeof q === 'string' ? q : ((q as { text?: string } | undefined)?.text ?? '');
      if (/UPDATE \S+\.nodes SET last_seen/.test(text)) {
        if (++heartbeats >= HEARTBEATS) done();
      } else if (!/UPDATE \S+\.leases\s+SET renewed_at/.test(text)) texts.push(text.replace(/\s+/g, ' ').slice(0, 80));
      return original.apply(this, args);
    };
    try {
      await enough;
    } finally {
      (Client.prototype as unknown as { query: Query }).query = original;
    }
    // Each renewal stands for a quarter lease of its node: fewer other queries than those seconds.
    expect(texts.length, texts.join('\n')).toBeLessThan(HEARTBEATS * (LEASE_SECONDS / 4));
    expect(b.orderly.engine.mode).toBe('following');
  }, 120_000);
});
