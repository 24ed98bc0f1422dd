// A single node on PostgreSQL through the node start-up: `startServe({ database })` (what
// `orderly serve --database` runs) takes the controller lease and journals there; when the
// lease is lost it stops writing at once: the engine fails, HTTP still reads and answers
// commands with 503. And `createOrderly({ database })`. Against the machine's real PostgreSQL,
// a schema per test.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { createOrderly } from '../../src/node/library.js';
import { startServe, type Serving } from '../../src/node/serve.js';
import { dropSchema, TEST_DATABASE_URL, testSchemaName, withClient } from '../support/postgres.js';

const SERIAL_SINGLE = resolve(import.meta.dirname, '../../examples/serial-single');

let dir: string | undefined;
const schemas: string[] = [];
const open: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => undefined);
  for (const s of schemas.splice(0)) await dropSchema(s);
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function schema(): string {
  const s = testSchemaName();
  schemas.push(s);
  return s;
}

async function eventRows(s: string): Promise<number> {
  return withClient(async (c) => Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${c.escapeIdentifier(s)}.events`)).rows[0]!.n));
}

describe('a node on PostgreSQL', () => {
  it('serve: takes the controller lease, journals there; a lost lease stops the writing, HTTP answers 503 for commands and still reads', async () => {
    dir = mkdtempSync(join(tmpdir(), 'orderly-serve-pg-'));
    const s = schema();
    let fatal: (err: unknown) => void = () => undefined;
    const failed = new Promise<unknown>((r) => (fatal = r));
    const a: Serving = await startServe({
      port: 0,
      dataDir: join(dir, 'data'),
      examples: SERIAL_SINGLE,
      controlSocket: false,
      database: { url: TEST_DATABASE_URL, schema: s, nodeName: 'node-a', leaseSeconds: 6 },
      onFatal: (err) => fatal(err),
    });
    open.push(a);
    expect(a.deployed!.workflows.map((w) => w.name)).toEqual(['pdSerialSingle']);
    const headers = { authorization: `Bearer ${a.adminToken!}`, 'content-type': 'application/json' };
    const add = (id: string): Promise<Response> =>
      fetch(`${a.url}/api/v1/orders`, { method: 'POST', headers, body: JSON.stringify({ workflow: 'pdSerialSingle', id, scheduledFor: Date.now() + 3_600_000 }) });
    const first = await add('p1');
    expect(first.status, await first.clone().text()).toBe(201);

    // The journal and the lease are in the schema: this node is the controller.
    const lease = await withClient(async (c) => (await c.query<{ node: string; holder: string | null }>(`SELECT node, holder FROM ${c.escapeIdentifier(s)}.leases WHERE name = 'controller'`)).rows[0]);
    expect(lease?.node).toBe('node-a');
    expect(lease?.holder).not.toBeNull();
    const rows = await withClient(async (c) => (await c.query<{ body: string }>(`SELECT body FROM ${c.escapeIdentifier(s)}.events ORDER BY seq`)).rows);
    expect(rows.some((r) => r.body.includes('"OrderAdded"') && r.body.includes('"p1"'))).toBe(true);

    // Another holder takes the lease over (as a node after an expiry would): this node's next
    // renewal fails, it counts the lease lost and its engine stops writing.
    await withClient((c) =>
      c.query(`UPDATE ${c.escapeIdentifier(s)}.leases SET epoch = epoch + 1, node = 'node-b', holder = 'node-b/1/x', since = now(), renewed_at = now(), expires_at = now() + interval '1 hour' WHERE name = 'controller'`),
    );
    const cause = await failed;
    expect(String(cause)).toMatch(/lease/i);
    expect(a.orderly.engine.mode).toBe('failed');
    const before = await eventRows(s);

    const refused = await add('p2');
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('unavailable');
    const read = await fetch(`${a.url}/api/v1/orders/p1`, { headers });
    expect(read.status).toBe(200);
    expect(await eventRows(s)).toBe(before);
  }, 60_000);

  it('createOrderly({ database }): the library journals on PostgreSQL and lets the lease go at close', async () => {
    const s = schema();
    const o = await createOrderly({ database: { url: TEST_DATABASE_URL, schema: s, nodeName: 'lib' }, slots: 0 });
    open.push(o);
    await o.deployDir(SERIAL_SINGLE);
    await o.addOrder({ workflow: 'pdSerialSingle', id: 'l1' });
    expect(o.getOrder('l1')?.state).toBe('waiting');
    await o.close();
    const lease = await withClient(async (c) => (await c.query<{ holder: string | null }>(`SELECT holder FROM ${c.escapeIdentifier(s)}.leases WHERE name = 'controller'`)).rows[0]);
    expect(lease?.holder).toBeNull();

    // The next node goes on from the journal.
    const again = await createOrderly({ database: { url: TEST_DATABASE_URL, schema: s }, slots: 0 });
    open.push(again);
    expect(again.getOrder('l1')?.workflow).toBe('pdSerialSingle');
  }, 60_000);

  it('refuses bad database options before creating anything', async () => {
    await expect(createOrderly({ database: 'mysql://x' })).rejects.toThrow(/database\.url/);
    await expect(createOrderly({ database: { url: TEST_DATABASE_URL, leaseSeconds: 0.1 } })).rejects.toThrow(/leaseSeconds/);
    await expect(createOrderly({ database: TEST_DATABASE_URL, synchronous: 'OFF' })).rejects.toThrow(/synchronous/);
  });
});
